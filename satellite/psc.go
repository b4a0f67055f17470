package satellite

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/kv"
)

// CRDManifest is the PhysicalStatefulCluster custom resource definition.
//
//go:embed psc.crd.yaml
var CRDManifest []byte

// PSC object coordinates.
var (
	PSCResource = schema.GroupVersionResource{Group: "orbit.dev", Version: "v1", Resource: "physicalstatefulclusters"}
	crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// CustomResources are the custom resources a satellite serves itself (resource → list
// kind), for simulated clusters.
var CustomResources = map[schema.GroupVersionResource]string{PSCResource: "PhysicalStatefulClusterList"}

const (
	pscAPIVersion = "orbit.dev/v1"
	pscKind       = "PhysicalStatefulCluster"
	// annotationManifestHash marks the CRD with the manifest it was applied from.
	annotationManifestHash = "orbit.dev/manifest-hash"
)

// PSCObject is a PhysicalStatefulCluster custom resource (cluster-scoped, named after the
// physical cluster id).
type PSCObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              PSCObjectSpec   `json:"spec"`
	Status            PSCObjectStatus `json:"status,omitempty"`
}

// PSCObjectSpec is the desired state as the mothership sent it.
type PSCObjectSpec struct {
	Satellite  string       `json:"satellite"`
	Product    kv.Product   `json:"product"`
	Generation int64        `json:"generation"`
	Deleted    bool         `json:"deleted,omitempty"`
	PurgeAfter *metav1.Time `json:"purgeAfter,omitempty"`
	kv.PSCSpec
}

// PSCObjectStatus is what the operator observed.
type PSCObjectStatus struct {
	// ObservedGeneration is the object's metadata.generation the status speaks of;
	// DesiredGeneration the mothership's generation that was fully applied.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	DesiredGeneration  int64 `json:"desiredGeneration,omitempty"`
	// ProfileRevision is the profile revision of the spec at DesiredGeneration.
	ProfileRevision   int64             `json:"profileRevision,omitempty"`
	Phase             kv.Phase          `json:"phase,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	Message           string            `json:"message,omitempty"`
	Replicas          int32             `json:"replicas,omitempty"`
	ReadyReplicas     int32             `json:"readyReplicas,omitempty"`
	Roles             []kv.RoleStatus   `json:"roles,omitempty"`
	Bootstrap         string            `json:"bootstrap,omitempty"`
	BootstrapHost     string            `json:"bootstrapHost,omitempty"`
	CACertificate     string            `json:"caCertificate,omitempty"`
	CertificateSerial string            `json:"certificateSerial,omitempty"`
	Brokers           []kv.BrokerStatus `json:"brokers,omitempty"`
	// Data is what the Kafka cluster holds as Kafka reports it (see dataUsage).
	Data *kv.DataUsage `json:"data,omitempty"`
	// Kafka is the cluster's health as Kafka reports it (see kafkaHealth).
	Kafka *kv.KafkaHealth `json:"kafka,omitempty"`
	// Mitigations are the last automated mitigation actions, newest last (mitigation.go).
	Mitigations []Mitigation       `json:"mitigations,omitempty"`
	Conditions  []metav1.Condition `json:"conditions,omitempty"`
}

// Mitigation is one action (or report) of an automated mitigation detector.
type Mitigation struct {
	Time     metav1.Time `json:"time"`
	Detector string      `json:"detector"`
	Action   string      `json:"action"`
	Message  string      `json:"message"`
}

// pscFromKV builds the PSC object of a desired value.
func pscFromKV(p *kv.PSC) *PSCObject {
	o := &PSCObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: pscAPIVersion, Kind: pscKind},
		ObjectMeta: metav1.ObjectMeta{Name: p.ID, Labels: ownerLabels(p.Satellite, p.Product, p.ID)},
		Spec:       PSCObjectSpec{Satellite: p.Satellite, Product: p.Product, Generation: p.Generation, Deleted: p.Deleted, PSCSpec: p.Spec},
	}
	if p.PurgeAfter != nil {
		// The object keeps whole seconds: round up, so volumes are never purged before the
		// mothership's window for an undelete has closed.
		at := p.PurgeAfter.UTC()
		if r := at.Truncate(time.Second); !r.Equal(at) {
			at = r.Add(time.Second)
		}
		t := metav1.NewTime(at)
		o.Spec.PurgeAfter = &t
	}
	return o
}

// key is the desired/actual key of the object.
func (o *PSCObject) key() kv.Key {
	return kv.Key{Satellite: o.Spec.Satellite, Product: o.Spec.Product, Cluster: o.Name}
}

// asKV is the object as a desired value again (validated).
func (o *PSCObject) asKV() (*kv.PSC, error) {
	p := &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: o.Name, Satellite: o.Spec.Satellite, Product: o.Spec.Product,
		Generation: o.Spec.Generation, Deleted: o.Spec.Deleted, Spec: o.Spec.PSCSpec}
	if o.Spec.PurgeAfter != nil {
		t := o.Spec.PurgeAfter.Time
		p.PurgeAfter = &t
	}
	return p, p.Validate()
}

func toUnstructured(v any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(b, &u.Object); err != nil {
		return nil, err
	}
	return u, nil
}

func fromUnstructured(u *unstructured.Unstructured) (*PSCObject, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	var o PSCObject
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("PSC %s: %w", u.GetName(), err)
	}
	return &o, nil
}

// InstallCRD applies the PSC definition and waits until the API server serves it.
func InstallCRD(ctx context.Context, client dynamic.Interface) error {
	var obj map[string]any
	if err := yaml.Unmarshal(CRDManifest, &obj); err != nil {
		return fmt.Errorf("PSC CRD: %w", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	hash := hashString(string(CRDManifest))
	u.SetAnnotations(map[string]string{annotationManifestHash: hash})
	crds := client.Resource(crdResource)
	live, err := crds.Get(ctx, u.GetName(), metav1.GetOptions{})
	if err == nil && live.GetAnnotations()[annotationManifestHash] == hash && established(live) {
		return nil // already installed as is: no write
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("PSC CRD: %w", err)
	}
	if _, err := crds.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return fmt.Errorf("PSC CRD: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		live, err := crds.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err == nil && established(live) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("PSC CRD: not established after 30s")
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}
