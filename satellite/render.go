package satellite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/orbitcp/orbit/kv"
)

// Labels, annotations and the field manager that mark what a satellite owns.
const (
	FieldManager   = "orbit-satellite"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelSatellite = "orbit.dev/satellite"
	LabelProduct   = "orbit.dev/product"
	LabelCluster   = "orbit.dev/cluster"
	LabelComponent = "app.kubernetes.io/component"

	// annotationRestartHash is on pod templates: it changes only with what needs a restart
	// (version, the role's static configuration), so that only such changes roll pods.
	annotationRestartHash = "orbit.dev/restart-hash"
)

// Namespace is where a cluster's objects live.
func Namespace(clusterID string) string { return "orbit-" + clusterID }

func ownerLabels(satellite string, product kv.Product, cluster string) map[string]string {
	return map[string]string{
		LabelManagedBy: FieldManager,
		LabelSatellite: satellite,
		LabelProduct:   string(product),
		LabelCluster:   cluster,
	}
}

// desiredObject is one object of a rendered cluster, with the way to converge it.
type desiredObject struct {
	kind, name string
	ensure     func(ctx context.Context, k *kube) (bool, error)
}

// workload is one StatefulSet of a cluster: a role.
type workload struct {
	role, name string
	replicas   int32
	// held is set when a scale-down was held back (see holdScaleDown), heldReason says
	// which hold it is (a ScaleDown* reason); draining while brokers are drained before
	// they are removed.
	held, heldReason, draining string
	// restartHash is the pod template's restart hash just rendered.
	restartHash string
	// storageGiB is the size of each replica's data volume (0: none); storageHeld is set
	// when a smaller size was held back (see heldStorage).
	storageGiB  int32
	storageHeld string
}

// rendered is everything one PSC materialises into.
type rendered struct {
	namespace string
	objects   []desiredObject
	workloads []workload
	// bootstrapService is the load balancer of the client endpoint, bootstrapHost the DNS
	// name published for it, port its port.
	bootstrapService string
	bootstrapHost    string
	port             int32
	// tls is what the certificate objects found or issued once they are ensured.
	tls *tlsState
	// brokers are a Kafka cluster's brokers as clients reach them.
	brokers []brokerEndpoint
}

// brokerEndpoint is one broker's node id and advertised client name.
type brokerEndpoint struct {
	id   int32
	host string
}

// invalidError is a desired state that can never be rendered as written: a terminal
// error, reported with its reason until the desired state changes.
type invalidError struct {
	reason string
	err    error
}

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

func invalid(reason string, err error) error { return &invalidError{reason: reason, err: err} }

// renderer turns a PSC into objects. domain is the DNS zone of the data plane's public
// names (per-broker and bootstrap records); image is the satellite's own image, which the
// Kafka pods' init container runs.
type renderer struct {
	satellite string
	domain    string
	image     string
	kube      *kube
	// drain, if set, paces Kafka scale-downs by what the drain of the brokers leaving allows.
	drain *rebalancer
}

func (r *renderer) render(o *PSCObject) (*rendered, error) { return r.renderWith(o, nil) }

// renderWith renders o; users are the REST users a ksqlDB or Connect cluster's rest-users
// Secret must hold (nil: none, the satellite has no credentials to give).
func (r *renderer) renderWith(o *PSCObject, users *restUsers) (*rendered, error) {
	ns := Namespace(o.Name)
	if len(ns) > kv.MaxNameLength {
		return nil, fmt.Errorf("id: %q is too long for a namespace name", o.Name)
	}
	out := &rendered{namespace: ns}
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	out.add("Namespace", ns, nsObject(corev1ac.Namespace(ns).WithLabels(labels)))
	switch o.Spec.Product {
	case kv.ProductKafka:
		return out, r.renderKafka(o, out)
	case kv.ProductKsqlDB, kv.ProductConnect:
		return out, r.renderWorkers(o, out, users)
	}
	return nil, fmt.Errorf("product: %q is not one this satellite runs", o.Spec.Product)
}

func (out *rendered) add(kind, name string, ensure func(context.Context, *kube) (bool, error)) {
	out.objects = append(out.objects, desiredObject{kind: kind, name: name, ensure: ensure})
}

// role describes one StatefulSet to render.
type role struct {
	name        string // component label and StatefulSet name, e.g. kafka-broker
	role        string // status role name, e.g. broker
	replicas    int32
	image       string
	command     []string
	ports       []int32
	storageGiB  int32
	mountConfig string // where the ConfigMap is mounted
	restartHash string
	tls         bool
	held        string // why the replica count is held above what the PSC asks
	heldReason  string // the status reason of that hold (a ScaleDown* reason)
	draining    string // what a scale-down waits for while brokers are drained
	// env, initContainers, volumes and mounts (of the main container) add to the defaults;
	// serviceAccount is the pods' (its token is never mounted automatically).
	env            []*corev1ac.EnvVarApplyConfiguration
	initContainers []*corev1ac.ContainerApplyConfiguration
	volumes        []*corev1ac.VolumeApplyConfiguration
	mounts         []*corev1ac.VolumeMountApplyConfiguration
	serviceAccount string
}

func (r *renderer) statefulSet(o *PSCObject, out *rendered, ro role) {
	ns := out.namespace
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	selector := map[string]string{LabelCluster: o.Name, LabelComponent: ro.name}
	podLabels := maps.Clone(labels)
	maps.Copy(podLabels, selector)

	var ports []*corev1ac.ContainerPortApplyConfiguration
	for i, p := range ro.ports {
		ports = append(ports, corev1ac.ContainerPort().WithName(fmt.Sprintf("p%d", i)).WithContainerPort(p))
	}
	mounts := []*corev1ac.VolumeMountApplyConfiguration{
		corev1ac.VolumeMount().WithName("config").WithMountPath(ro.mountConfig).WithReadOnly(true),
	}
	volumes := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("config").WithConfigMap(corev1ac.ConfigMapVolumeSource().WithName(string(o.Spec.Product) + "-config")),
	}
	if ro.tls {
		// Mounted, never hashed: a rotated certificate reaches the pods through the volume.
		mounts = append(mounts, corev1ac.VolumeMount().WithName("tls").WithMountPath("/etc/orbit/tls").WithReadOnly(true))
		volumes = append(volumes, corev1ac.Volume().WithName("tls").WithSecret(corev1ac.SecretVolumeSource().WithSecretName(tlsSecretName(o.Spec.Product))))
	}
	mounts = append(mounts, ro.mounts...)
	volumes = append(volumes, ro.volumes...)
	var claims []*corev1ac.PersistentVolumeClaimApplyConfiguration
	var storageHeld string
	if ro.storageGiB > 0 {
		ro.storageGiB, storageHeld = r.heldStorage(ns, ro.name, ro.storageGiB)
		mounts = append(mounts, corev1ac.VolumeMount().WithName("data").WithMountPath("/var/lib/orbit/data"))
		size := resource.MustParse(fmt.Sprintf("%dGi", ro.storageGiB))
		// Written as the API server stores a template (the list is atomic, so what is read
		// back is all of it): no type or namespace, the volume mode spelled out.
		pvc := (&corev1ac.PersistentVolumeClaimApplyConfiguration{}).WithName("data")
		pvc = pvc.WithLabels(podLabels).WithSpec(corev1ac.PersistentVolumeClaimSpec().
			WithAccessModes(corev1.ReadWriteOnce).WithVolumeMode(corev1.PersistentVolumeFilesystem).
			WithResources(corev1ac.VolumeResourceRequirements().WithRequests(corev1.ResourceList{corev1.ResourceStorage: size})))
		if o.Spec.Storage.Class != "" {
			pvc.Spec.WithStorageClassName(o.Spec.Storage.Class)
		}
		claims = append(claims, pvc)
	}
	env := append([]*corev1ac.EnvVarApplyConfiguration{
		corev1ac.EnvVar().WithName("POD_NAME").WithValueFrom(corev1ac.EnvVarSource().WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("metadata.name"))),
	}, ro.env...)
	container := corev1ac.Container().WithName(ro.role).WithImage(ro.image).WithCommand(ro.command...).
		WithPorts(ports...).WithVolumeMounts(mounts...).
		WithEnv(env...).
		WithReadinessProbe(corev1ac.Probe().WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromInt32(ro.ports[0]))))
	pod := corev1ac.PodSpec().
		WithContainers(container).
		WithVolumes(volumes...).
		WithAutomountServiceAccountToken(false).
		WithTopologySpreadConstraints(corev1ac.TopologySpreadConstraint().
			WithMaxSkew(1).WithTopologyKey(zoneLabel).
			WithWhenUnsatisfiable(corev1.ScheduleAnyway).
			WithLabelSelector(metav1ac.LabelSelector().WithMatchLabels(selector)))
	if len(ro.initContainers) > 0 {
		pod.WithInitContainers(ro.initContainers...)
	}
	if ro.serviceAccount != "" {
		pod.WithServiceAccountName(ro.serviceAccount)
	}
	spec := appsv1ac.StatefulSetSpec().
		WithReplicas(ro.replicas).
		WithServiceName(ro.name + "-headless").
		WithPodManagementPolicy(appsv1.ParallelPodManagement).
		// The satellite rolls pods itself, one at a time, by eviction (respecting the PDB).
		WithUpdateStrategy(appsv1ac.StatefulSetUpdateStrategy().WithType(appsv1.OnDeleteStatefulSetStrategyType)).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
		WithTemplate(corev1ac.PodTemplateSpec().
			WithLabels(podLabels).
			WithAnnotations(map[string]string{annotationRestartHash: ro.restartHash}).
			WithSpec(pod))
	if len(claims) > 0 {
		spec = spec.WithVolumeClaimTemplates(claims...)
	}
	out.add("StatefulSet", ro.name, stsObject(appsv1ac.StatefulSet(ro.name, ns).WithLabels(labels).WithSpec(spec)))
	out.add("PodDisruptionBudget", ro.name, pdbObject(policyv1ac.PodDisruptionBudget(ro.name, ns).WithLabels(labels).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)))))
	headless := corev1ac.ServiceSpec().WithClusterIP(corev1.ClusterIPNone).WithPublishNotReadyAddresses(true).WithSelector(selector)
	for i, p := range ro.ports {
		headless.WithPorts(corev1ac.ServicePort().WithName(fmt.Sprintf("p%d", i)).WithPort(p).WithTargetPort(intstr.FromInt32(p)))
	}
	out.add("Service", ro.name+"-headless", svcObject(corev1ac.Service(ro.name+"-headless", ns).WithLabels(labels).WithSpec(headless)))
	out.workloads = append(out.workloads, workload{role: ro.role, name: ro.name, replicas: ro.replicas, held: ro.held, heldReason: ro.heldReason, draining: ro.draining, restartHash: ro.restartHash,
		storageGiB: ro.storageGiB, storageHeld: storageHeld})
}

// annotationExternalDNS asks external-dns to publish a Service's load balancer address
// under a name.
const annotationExternalDNS = "external-dns.alpha.kubernetes.io/hostname"

// loadBalancer renders a LoadBalancer service to the pods matched by selector, published
// in DNS as host.
func loadBalancer(ns, name, host string, labels, selector map[string]string, port int32) func(context.Context, *kube) (bool, error) {
	return svcObject(corev1ac.Service(name, ns).WithLabels(labels).
		WithAnnotations(map[string]string{annotationExternalDNS: host}).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeLoadBalancer).WithSelector(selector).
			WithPorts(corev1ac.ServicePort().WithName("client").WithPort(port).WithTargetPort(intstr.FromInt32(port)))))
}

// replicationFactor is the replication a Kafka cluster's configuration declares: it may
// never run fewer brokers.
func replicationFactor(cfg map[string]string) int32 {
	rf := int32(1)
	for _, k := range []string{"default.replication.factor", "offsets.topic.replication.factor", "transaction.state.log.replication.factor"} {
		var n int32
		if _, err := fmt.Sscanf(cfg[k], "%d", &n); err == nil && n > rf {
			rf = n
		}
	}
	return rf
}

// holdScaleDown keeps a Kafka broker set from shrinking below the replication factor its
// configuration declares (the larger of the current size and that factor is kept, and the
// reason reported), and, when the satellite drains brokers before removing them, from
// shrinking faster than the drain allows (see rebalance.go): the message says why, held
// whether the drain cannot finish.
func (r *renderer) holdScaleDown(o *PSCObject, ns, name string, want int32) (n int32, msg, heldReason string) {
	current := int32(0)
	if sts, err := r.kube.sets.StatefulSets(ns).Get(name); err == nil && sts.Spec.Replicas != nil {
		current = *sts.Spec.Replicas
	}
	n = want
	if rf := replicationFactor(o.Spec.Config); want < rf {
		n, msg, heldReason = max(current, rf), fmt.Sprintf("scale-down to %d brokers held: the replication factor is %d", want, rf), reasonTooFewBrokers
	}
	if r.drain != nil && current > 0 && n < current {
		var dmsg, dreason string
		n, dmsg, dreason = r.drain.brokers(o.Name, current, n)
		if heldReason == "" {
			msg, heldReason = dmsg, dreason
		}
	}
	return n, msg, heldReason
}

func properties(cfg map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
	}
	return b.String()
}

func hashString(s ...string) string {
	h := sha256.New()
	for _, p := range s {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// The per-kind ensure functions.

func nsObject(ac *corev1ac.NamespaceApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "Namespace", ac, func() (*corev1.Namespace, error) { return k.namespaces.Get(*ac.Name) },
			corev1ac.ExtractNamespace, k.client.CoreV1().Namespaces().Apply)
	}
}

func cmObject(ac *corev1ac.ConfigMapApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "ConfigMap", ac, func() (*corev1.ConfigMap, error) { return k.configs.ConfigMaps(*ac.Namespace).Get(*ac.Name) },
			corev1ac.ExtractConfigMap, k.client.CoreV1().ConfigMaps(*ac.Namespace).Apply)
	}
}

func svcObject(ac *corev1ac.ServiceApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "Service", ac, func() (*corev1.Service, error) { return k.services.Services(*ac.Namespace).Get(*ac.Name) },
			corev1ac.ExtractService, k.client.CoreV1().Services(*ac.Namespace).Apply)
	}
}

// stsObject applies a StatefulSet; one whose claim templates (immutable) changed is first
// deleted leaving its pods in place, then applied again (see storage.go).
func stsObject(ac *appsv1ac.StatefulSetApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		if live, err := k.sets.StatefulSets(*ac.Namespace).Get(*ac.Name); err == nil && !sameClaimTemplates(live, ac) {
			if err := recreateStatefulSet(ctx, k, live); err != nil {
				return false, err
			}
			_, err := k.client.AppsV1().StatefulSets(*ac.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
			return err == nil, err
		}
		return ensure(ctx, k, "StatefulSet", ac, func() (*appsv1.StatefulSet, error) { return k.sets.StatefulSets(*ac.Namespace).Get(*ac.Name) },
			extractStatefulSet, k.client.AppsV1().StatefulSets(*ac.Namespace).Apply)
	}
}

// extractStatefulSet is ExtractStatefulSet without the claim templates' status, which the
// API server fills in and nobody applies.
func extractStatefulSet(sts *appsv1.StatefulSet, manager string) (*appsv1ac.StatefulSetApplyConfiguration, error) {
	ac, err := appsv1ac.ExtractStatefulSet(sts, manager)
	if err != nil || ac.Spec == nil {
		return ac, err
	}
	for i := range ac.Spec.VolumeClaimTemplates {
		ac.Spec.VolumeClaimTemplates[i].Status = nil
	}
	return ac, nil
}

func pdbObject(ac *policyv1ac.PodDisruptionBudgetApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "PodDisruptionBudget", ac, func() (*policyv1.PodDisruptionBudget, error) {
			return k.budgets.PodDisruptionBudgets(*ac.Namespace).Get(*ac.Name)
		}, policyv1ac.ExtractPodDisruptionBudget, k.client.PolicyV1().PodDisruptionBudgets(*ac.Namespace).Apply)
	}
}

func saObject(ac *corev1ac.ServiceAccountApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "ServiceAccount", ac, func() (*corev1.ServiceAccount, error) { return k.accounts.ServiceAccounts(*ac.Namespace).Get(*ac.Name) },
			corev1ac.ExtractServiceAccount, k.client.CoreV1().ServiceAccounts(*ac.Namespace).Apply)
	}
}

func clusterRoleObject(ac *rbacv1ac.ClusterRoleApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "ClusterRole", ac, func() (*rbacv1.ClusterRole, error) { return k.roles.Get(*ac.Name) },
			rbacv1ac.ExtractClusterRole, k.client.RbacV1().ClusterRoles().Apply)
	}
}

func clusterRoleBindingObject(ac *rbacv1ac.ClusterRoleBindingApplyConfiguration) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		return ensure(ctx, k, "ClusterRoleBinding", ac, func() (*rbacv1.ClusterRoleBinding, error) { return k.bindings.Get(*ac.Name) },
			rbacv1ac.ExtractClusterRoleBinding, k.client.RbacV1().ClusterRoleBindings().Apply)
	}
}
