package simkube

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	dynfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// NewDynamic is a fake dynamic client that serves custom resources (listKinds: resource →
// list kind) and their definitions the way an API server would for a single field manager:
// server-side apply creates, or replaces metadata labels and spec, bumping
// metadata.generation when the spec changes; a status update changes only the status; a
// definition is established as soon as it is applied.
func NewDynamic(listKinds map[schema.GroupVersionResource]string) *dynfake.FakeDynamicClient {
	kinds := map[schema.GroupVersionResource]string{crdResource: "CustomResourceDefinitionList"}
	for r, k := range listKinds {
		kinds[r] = k
	}
	c := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds)
	tracker := c.Tracker()
	c.PrependReactor("patch", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pa, ok := action.(k8stesting.PatchAction)
		if !ok || pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		var obj map[string]any
		if err := json.Unmarshal(pa.GetPatch(), &obj); err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		applied := &unstructured.Unstructured{Object: obj}
		gvr, ns, name := pa.GetResource(), pa.GetNamespace(), pa.GetName()
		existing, err := tracker.Get(gvr, ns, name)
		if apierrors.IsNotFound(err) {
			applied.SetGeneration(1)
			applied.SetUID(uuid.NewUUID())
			applied.SetCreationTimestamp(metav1.NewTime(time.Now()))
			if gvr == crdResource {
				applied.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": "True"}}}
			}
			if err := tracker.Create(gvr, applied, ns); err != nil {
				return true, nil, err
			}
			return true, applied, nil
		}
		if err != nil {
			return true, nil, err
		}
		cur, ok := existing.(*unstructured.Unstructured)
		if !ok {
			return true, nil, fmt.Errorf("simkube: unexpected %T", existing)
		}
		next := cur.DeepCopy()
		if !reflect.DeepEqual(cur.Object["spec"], obj["spec"]) {
			next.SetGeneration(cur.GetGeneration() + 1)
		}
		next.Object["spec"] = obj["spec"]
		next.SetLabels(applied.GetLabels())
		next.SetAnnotations(applied.GetAnnotations())
		if err := tracker.Update(gvr, next, ns); err != nil {
			return true, nil, err
		}
		return true, next, nil
	})
	c.PrependReactor("update", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ua, ok := action.(k8stesting.UpdateAction)
		if !ok || ua.GetSubresource() != "status" {
			return false, nil, nil
		}
		u, ok := ua.GetObject().(*unstructured.Unstructured)
		if !ok {
			return false, nil, nil
		}
		existing, err := tracker.Get(ua.GetResource(), ua.GetNamespace(), u.GetName())
		if err != nil {
			return true, nil, err
		}
		next := existing.(*unstructured.Unstructured).DeepCopy()
		next.Object["status"] = u.Object["status"]
		if err := tracker.Update(ua.GetResource(), next, ua.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, next, nil
	})
	return c
}
