package satellite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
)

// Storage changes. A StatefulSet's volumeClaimTemplates are immutable: the API server
// refuses an update that changes them. A bigger disk is therefore two steps, the way
// Kubernetes operators (Strimzi, the Redpanda operator) take them:
//
//  1. the existing claims grow in place (spec.resources.requests.storage), when their
//     storage class allows expansion; the volume resizer then grows the volume and sets
//     the claim's status.capacity. A class that does not allow it is reported in status,
//     and the claims keep their size.
//  2. the StatefulSet object is deleted with PropagationPolicy Orphan, which leaves its
//     pods (and their claims) running, and applied again with the new template; it adopts
//     the pods, so no broker restarts, and brokers added later get the new size.
//
// A smaller disk is never applied: volumes do not shrink, so the template keeps its size
// and status says so.

// conditionStorage reports a storage change in progress or held.
const conditionStorage = "StorageResized"

// recreateWait bounds how long a reconcile waits for an orphaning delete to finish before
// it tries again later.
const recreateWait = 20 * time.Second

// templateStorage is the storage request of a StatefulSet's "data" claim template.
func templateStorage(sts *appsv1.StatefulSet) (resource.Quantity, bool) {
	for _, t := range sts.Spec.VolumeClaimTemplates {
		if t.Name == "data" {
			q, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]
			return q, ok
		}
	}
	return resource.Quantity{}, false
}

// sameClaimTemplates reports whether the live StatefulSet's claim templates are what the
// apply configuration asks for (the fields this satellite sets).
func sameClaimTemplates(live *appsv1.StatefulSet, ac *appsv1ac.StatefulSetApplyConfiguration) bool {
	current, err := extractStatefulSet(live, FieldManager)
	if err != nil || current.Spec == nil || ac.Spec == nil {
		return true // nothing to compare: let the apply decide
	}
	if len(current.Spec.VolumeClaimTemplates) == 0 && len(live.Spec.VolumeClaimTemplates) > 0 {
		return true // someone else's templates; never recreate over them
	}
	return sameJSON(current.Spec.VolumeClaimTemplates, ac.Spec.VolumeClaimTemplates)
}

// recreateStatefulSet deletes the live StatefulSet leaving its pods and claims in place
// (PropagationPolicy Orphan, on this very object: UID precondition), and waits until it is
// gone, so that the caller's apply creates it again with the new claim templates.
func recreateStatefulSet(ctx context.Context, k *kube, live *appsv1.StatefulSet) error {
	sets := k.client.AppsV1().StatefulSets(live.Namespace)
	orphan := metav1.DeletePropagationOrphan
	uid := live.UID
	err := sets.Delete(ctx, live.Name, metav1.DeleteOptions{PropagationPolicy: &orphan, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("recreating StatefulSet %s for its new claim templates: %w", live.Name, err)
	}
	deadline := time.Now().Add(recreateWait)
	for {
		got, err := sets.Get(ctx, live.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && got.UID != uid) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("StatefulSet %s: still being deleted (orphaning its pods) after %v", live.Name, recreateWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// heldStorage keeps a volume from shrinking: the size to render for a role whose live
// StatefulSet already asks for more, with the reason.
func (r *renderer) heldStorage(ns, name string, wantGiB int32) (int32, string) {
	sts, err := r.kube.sets.StatefulSets(ns).Get(name)
	if err != nil {
		return wantGiB, ""
	}
	live, ok := templateStorage(sts)
	want := resource.MustParse(fmt.Sprintf("%dGi", wantGiB))
	if !ok || live.Cmp(want) <= 0 {
		return wantGiB, ""
	}
	gib := int32(live.Value() >> 30)
	return gib, fmt.Sprintf("%s: disk stays at %s: volumes cannot shrink to %dGi", name, live.String(), wantGiB)
}

// expansion says whether a claim's storage class allows volume expansion.
func expansion(ctx context.Context, k *kube, pvc *corev1.PersistentVolumeClaim) (bool, string, error) {
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class == "" {
		return false, "", nil
	}
	sc, err := k.client.StorageV1().StorageClasses().Get(ctx, class, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, class, nil
	}
	if err != nil {
		return false, class, err
	}
	return sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion, class, nil
}

// growClaim asks for size on a claim that requests less, if its class allows expansion.
// It reports whether the claim asks for at least size afterwards.
func growClaim(ctx context.Context, k *kube, pvc *corev1.PersistentVolumeClaim, size resource.Quantity) (bool, string, error) {
	cur := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if cur.Cmp(size) >= 0 {
		return true, "", nil
	}
	ok, class, err := expansion(ctx, k, pvc)
	if err != nil || !ok {
		return false, class, err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"resources": map[string]any{"requests": map[string]string{"storage": size.String()}}}})
	if _, err := k.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Patch(ctx, pvc.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return false, class, fmt.Errorf("growing claim %s to %s: %w", pvc.Name, size.String(), err)
	}
	return true, class, nil
}

// roleClaims lists a role's claims (made from its "data" template), by name.
func roleClaims(k *kube, ns, cluster, component string) ([]*corev1.PersistentVolumeClaim, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelCluster: cluster, LabelComponent: component})
	l, err := k.claims.PersistentVolumeClaims(ns).List(sel)
	slices.SortFunc(l, func(a, b *corev1.PersistentVolumeClaim) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return l, err
}

// Reasons of the storage condition, the most pressing first.
const (
	reasonExpansionNotAllowed = "ExpansionNotAllowed"
	reasonShrinkHeld          = "ShrinkHeld"
	reasonResizing            = "Resizing"
)

// resizeVolumes grows the claims of every role with storage to its template's size, and
// says in one line what is still pending or refused, with a reason ("" when every claim
// holds its size).
func (op *operator) resizeVolumes(ctx context.Context, o *PSCObject, out *rendered) (string, string, error) {
	var notes []string
	reason := ""
	because := func(r string) {
		if reason == "" || r == reasonExpansionNotAllowed || (r == reasonShrinkHeld && reason == reasonResizing) {
			reason = r
		}
	}
	for _, w := range out.workloads {
		if w.storageHeld != "" {
			notes = append(notes, w.storageHeld)
			because(reasonShrinkHeld)
		}
		if w.storageGiB == 0 {
			continue
		}
		size := resource.MustParse(fmt.Sprintf("%dGi", w.storageGiB))
		claims, err := roleClaims(op.kube, out.namespace, o.Name, w.name)
		if err != nil {
			return "", "", err
		}
		var refused, growing []string
		var refusedClass string
		for _, pvc := range claims {
			if pvc.DeletionTimestamp != nil {
				continue
			}
			asked, class, err := growClaim(ctx, op.kube, pvc, size)
			if err != nil {
				return "", "", err
			}
			if !asked {
				refused, refusedClass = append(refused, pvc.Name), class
				continue
			}
			capacity := pvc.Status.Capacity[corev1.ResourceStorage]
			if capacity.Cmp(size) < 0 {
				growing = append(growing, pvc.Name)
			}
		}
		if len(refused) > 0 {
			notes = append(notes, fmt.Sprintf("claims %v cannot grow to %s: storage class %q does not allow volume expansion", refused, size.String(), refusedClass))
			because(reasonExpansionNotAllowed)
		}
		if len(growing) > 0 {
			notes = append(notes, fmt.Sprintf("claims %v growing to %s", growing, size.String()))
			because(reasonResizing)
		}
	}
	return strings.Join(notes, "; "), reason, nil
}
