package satellite

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/orbitcp/orbit/kv"
)

// Labels and the field manager that mark what a satellite owns.
const (
	FieldManager   = "orbit-satellite"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelSatellite = "orbit.dev/satellite"
	LabelProduct   = "orbit.dev/product"
	LabelCluster   = "orbit.dev/cluster"
	LabelComponent = "app.kubernetes.io/component"

	annotationConfigHash = "orbit.dev/config-hash"
	annotationGeneration = "orbit.dev/generation"
)

// ports of each product.
var clientPorts = map[kv.Product]int32{kv.ProductKafka: 9092, kv.ProductKsqlDB: 8088, kv.ProductConnect: 8083}

var images = map[kv.Product]string{
	kv.ProductKafka:   "apache/kafka",
	kv.ProductKsqlDB:  "confluentinc/ksqldb-server",
	kv.ProductConnect: "apache/kafka",
}

// Namespace is where a cluster's objects live.
func Namespace(clusterID string) string { return "orbit-" + clusterID }

// objects is everything one PSC materialises into.
type objects struct {
	namespace   *corev1ac.NamespaceApplyConfiguration
	config      *corev1ac.ConfigMapApplyConfiguration
	headless    *corev1ac.ServiceApplyConfiguration
	bootstrap   *corev1ac.ServiceApplyConfiguration
	statefulSet *appsv1ac.StatefulSetApplyConfiguration
}

// workloadName is the StatefulSet (and service prefix) of a product.
func workloadName(p kv.Product) string { return string(p) }

func ownerLabels(satellite string, psc *kv.PSC) map[string]string {
	return map[string]string{
		LabelManagedBy: FieldManager,
		LabelSatellite: satellite,
		LabelProduct:   string(psc.Product),
		LabelCluster:   psc.ID,
	}
}

// render builds the apply configurations of a PSC. It is pure: the same PSC always renders
// the same objects, which is what lets a restart skip every write.
func render(satellite string, psc *kv.PSC) (*objects, error) {
	ns := Namespace(psc.ID)
	if len(ns) > kv.MaxNameLength {
		return nil, fmt.Errorf("id: %q is too long for a namespace name", psc.ID)
	}
	labels := ownerLabels(satellite, psc)
	name := workloadName(psc.Product)
	port := clientPorts[psc.Product]
	selector := map[string]string{LabelCluster: psc.ID, LabelComponent: name}
	podLabels := maps.Clone(labels)
	maps.Copy(podLabels, selector)

	props := renderProperties(psc)
	configHash := hashString(props)

	o := &objects{}
	o.namespace = corev1ac.Namespace(ns).WithLabels(labels)
	o.config = corev1ac.ConfigMap(name+"-config", ns).WithLabels(labels).
		WithData(map[string]string{"server.properties": props})
	o.headless = corev1ac.Service(name+"-headless", ns).WithLabels(labels).
		WithSpec(corev1ac.ServiceSpec().
			WithClusterIP(corev1.ClusterIPNone).
			WithPublishNotReadyAddresses(true).
			WithSelector(selector).
			WithPorts(corev1ac.ServicePort().WithName("client").WithPort(port).WithTargetPort(intstr.FromInt32(port))))
	o.bootstrap = corev1ac.Service(name+"-bootstrap", ns).WithLabels(labels).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeLoadBalancer).
			WithSelector(selector).
			WithPorts(corev1ac.ServicePort().WithName("client").WithPort(port).WithTargetPort(intstr.FromInt32(port))))

	storage, err := resource.ParseQuantity(fmt.Sprintf("%dGi", psc.Spec.Storage.SizeGiB))
	if err != nil {
		return nil, err
	}
	pvc := corev1ac.PersistentVolumeClaim("data", "")
	pvc.Namespace = nil // a template has no namespace of its own
	pvc = pvc.WithSpec(corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(corev1.ReadWriteOnce).
		WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: storage})))
	if psc.Spec.Storage.Class != "" {
		pvc.Spec.WithStorageClassName(psc.Spec.Storage.Class)
	}
	container := corev1ac.Container().
		WithName(name).
		WithImage(images[psc.Product]+":"+psc.Spec.Version).
		WithPorts(corev1ac.ContainerPort().WithName("client").WithContainerPort(port)).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName("data").WithMountPath("/var/lib/"+name),
			corev1ac.VolumeMount().WithName("config").WithMountPath("/etc/"+name),
		).
		WithReadinessProbe(corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromInt32(port))))
	o.statefulSet = appsv1ac.StatefulSet(name, ns).WithLabels(labels).
		WithSpec(appsv1ac.StatefulSetSpec().
			WithReplicas(psc.Spec.Replicas).
			WithServiceName(name + "-headless").
			WithPodManagementPolicy(appsv1.ParallelPodManagement).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(podLabels).
				// A configuration change must restart the brokers; the hash rolls them.
				WithAnnotations(map[string]string{annotationConfigHash: configHash}).
				WithSpec(corev1ac.PodSpec().
					WithContainers(container).
					WithVolumes(corev1ac.Volume().WithName("config").
						WithConfigMap(corev1ac.ConfigMapVolumeSource().WithName(name + "-config"))))).
			WithVolumeClaimTemplates(pvc))
	return o, nil
}

// renderProperties renders the product configuration, keys sorted.
func renderProperties(psc *kv.PSC) string {
	cfg := maps.Clone(psc.Spec.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	port := clientPorts[psc.Product]
	switch psc.Product {
	case kv.ProductKafka:
		cfg["listeners"] = fmt.Sprintf("CLIENT://:%d", port)
		cfg["log.dirs"] = "/var/lib/kafka/data"
		cfg["cluster.id"] = psc.ID
	default:
		cfg["listeners"] = fmt.Sprintf("http://0.0.0.0:%d", port)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
	}
	return b.String()
}

func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}
