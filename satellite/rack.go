package satellite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
)

// broker.rack comes from the zone of the node a broker runs on. A pod cannot read its
// node's labels through the downward API, so, as Strimzi does, an init container reads the
// node's topology.kubernetes.io/zone label with a service account allowed to get nodes and
// writes broker.rack into a file that the start script appends to the broker's
// configuration. The init container is the satellite's own image (`satellite rack`): no
// shell, curl or JSON parsing in the Kafka image is relied upon.
//
// Rights: one ClusterRole per satellite (get nodes: nodes are cluster-scoped and their
// names are not known in advance, so this is as narrow as it gets), bound per cluster to the
// cluster's ServiceAccount. The token is projected into the init container only: Kafka's
// own container has no Kubernetes credentials.
const (
	zoneLabel      = "topology.kubernetes.io/zone"
	rackSA         = "kafka-rack"
	rackDir        = "/var/run/orbit/rack"
	rackFile       = rackDir + "/rack.properties"
	saTokenDir     = "/var/run/secrets/kubernetes.io/serviceaccount"
	rackTokenTTLSe = 600
)

// defaultImage is the satellite's image when none is configured.
const defaultImage = "ghcr.io/orbitcp/satellite:latest"

// rackRoleName is the satellite's ClusterRole that lets a Kafka pod read its node.
func rackRoleName(satellite string) string { return "orbit-" + satellite + "-kafka-rack" }

// rackBindingName binds it to one cluster's ServiceAccount.
func rackBindingName(cluster string) string { return "orbit-" + cluster + "-kafka-rack" }

// WriteRack is the init container's job: it reads node's zone label and writes
// broker.rack=<zone> to path (nothing when the node has no zone: Kafka then places
// replicas without racks).
func WriteRack(ctx context.Context, client kubernetes.Interface, node, path string) error {
	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	zone := n.Labels[zoneLabel]
	if strings.ContainsAny(zone, "\n\r\\") {
		return fmt.Errorf("node %s: zone %q is not a rack name", node, zone)
	}
	content := ""
	if zone != "" {
		content = "broker.rack=" + zone + "\n"
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rack-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// renderRackAccess renders the rights the rack init container uses.
func (r *renderer) renderRackAccess(o *PSCObject, out *rendered, labels map[string]string) {
	ns := out.namespace
	satLabels := map[string]string{LabelManagedBy: FieldManager, LabelSatellite: r.satellite}
	role := rackRoleName(r.satellite)
	out.add("ServiceAccount", rackSA, saObject(corev1ac.ServiceAccount(rackSA, ns).WithLabels(labels).
		WithAutomountServiceAccountToken(false)))
	out.add("ClusterRole", role, clusterRoleObject(rbacv1ac.ClusterRole(role).WithLabels(satLabels).
		WithRules(rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("nodes").WithVerbs("get"))))
	out.add("ClusterRoleBinding", rackBindingName(o.Name), clusterRoleBindingObject(rbacv1ac.ClusterRoleBinding(rackBindingName(o.Name)).
		WithLabels(labels).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(role)).
		WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(rackSA).WithNamespace(ns))))
}

// rackInitContainer and its volumes: the rack file's directory, and the projected token
// that only this container mounts.
func (r *renderer) rackInitContainer() (*corev1ac.ContainerApplyConfiguration, []*corev1ac.VolumeApplyConfiguration) {
	image := r.image
	if image == "" {
		image = defaultImage
	}
	c := corev1ac.Container().WithName("rack").WithImage(image).
		WithArgs("rack", "--node=$(NODE_NAME)", "--out="+rackFile).
		WithEnv(corev1ac.EnvVar().WithName("NODE_NAME").WithValueFrom(corev1ac.EnvVarSource().
			WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("spec.nodeName")))).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName("rack").WithMountPath(rackDir),
			corev1ac.VolumeMount().WithName("rack-token").WithMountPath(saTokenDir).WithReadOnly(true))
	vols := []*corev1ac.VolumeApplyConfiguration{
		corev1ac.Volume().WithName("rack").WithEmptyDir(corev1ac.EmptyDirVolumeSource()),
		corev1ac.Volume().WithName("rack-token").WithProjected(corev1ac.ProjectedVolumeSource().WithDefaultMode(0o444).WithSources(
			corev1ac.VolumeProjection().WithServiceAccountToken(corev1ac.ServiceAccountTokenProjection().
				WithPath("token").WithExpirationSeconds(rackTokenTTLSe)),
			corev1ac.VolumeProjection().WithConfigMap(corev1ac.ConfigMapProjection().WithName("kube-root-ca.crt").
				WithItems(corev1ac.KeyToPath().WithKey("ca.crt").WithPath("ca.crt"))),
			corev1ac.VolumeProjection().WithDownwardAPI(corev1ac.DownwardAPIProjection().
				WithItems(corev1ac.DownwardAPIVolumeFile().WithPath("namespace").
					WithFieldRef(corev1ac.ObjectFieldSelector().WithAPIVersion("v1").WithFieldPath("metadata.namespace")))))),
	}
	return c, vols
}
