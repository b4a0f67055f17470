package satellite

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// kube is the satellite's view of its Kubernetes: informers on exactly what it owns
// (selected by its labels: managed-by orbit-satellite and its own satellite name) and the
// clients to change it.
type kube struct {
	satellite string
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	factory   informers.SharedInformerFactory
	dynf      dynamicinformer.DynamicSharedInformerFactory

	namespaces corelisters.NamespaceLister
	configs    corelisters.ConfigMapLister
	secrets    corelisters.SecretLister
	services   corelisters.ServiceLister
	claims     corelisters.PersistentVolumeClaimLister
	pods       corelisters.PodLister
	sets       appslisters.StatefulSetLister
	budgets    policylisters.PodDisruptionBudgetLister
	accounts   corelisters.ServiceAccountLister
	roles      rbaclisters.ClusterRoleLister
	bindings   rbaclisters.ClusterRoleBindingLister
	pscs       cache.GenericLister
}

// ownedSelector selects what this satellite owns.
func ownedSelector(satellite string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: FieldManager, LabelSatellite: satellite})
}

func newKube(client kubernetes.Interface, dyn dynamic.Interface, satellite string) *kube {
	sel := ownedSelector(satellite).String()
	f := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	df := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = sel })
	return &kube{
		satellite: satellite, client: client, dynamic: dyn, factory: f, dynf: df,
		namespaces: f.Core().V1().Namespaces().Lister(),
		configs:    f.Core().V1().ConfigMaps().Lister(),
		secrets:    f.Core().V1().Secrets().Lister(),
		services:   f.Core().V1().Services().Lister(),
		claims:     f.Core().V1().PersistentVolumeClaims().Lister(),
		pods:       f.Core().V1().Pods().Lister(),
		sets:       f.Apps().V1().StatefulSets().Lister(),
		budgets:    f.Policy().V1().PodDisruptionBudgets().Lister(),
		accounts:   f.Core().V1().ServiceAccounts().Lister(),
		roles:      f.Rbac().V1().ClusterRoles().Lister(),
		bindings:   f.Rbac().V1().ClusterRoleBindings().Lister(),
		pscs:       df.ForResource(PSCResource).Lister(),
	}
}

// onChange calls onObject with the cluster id of every owned object that changes or goes
// away (so drift is repaired), and onPSC with every PSC object that does.
func (k *kube) onChange(onObject func(cluster string), onPSC func(*PSCObject)) error {
	objHandler := eventHandler(func(m metav1.Object) {
		if id := m.GetLabels()[LabelCluster]; kv.ValidateName("cluster", id) == nil {
			onObject(id)
		}
	})
	for _, inf := range []cache.SharedIndexInformer{
		k.factory.Core().V1().Namespaces().Informer(),
		k.factory.Core().V1().ConfigMaps().Informer(),
		k.factory.Core().V1().Secrets().Informer(),
		k.factory.Core().V1().Services().Informer(),
		k.factory.Core().V1().PersistentVolumeClaims().Informer(),
		k.factory.Core().V1().Pods().Informer(),
		k.factory.Apps().V1().StatefulSets().Informer(),
		k.factory.Policy().V1().PodDisruptionBudgets().Informer(),
		k.factory.Core().V1().ServiceAccounts().Informer(),
		k.factory.Rbac().V1().ClusterRoleBindings().Informer(),
	} {
		if _, err := inf.AddEventHandler(objHandler); err != nil {
			return err
		}
	}
	pscHandler := eventHandler(func(m metav1.Object) {
		u, ok := m.(*unstructured.Unstructured)
		if !ok {
			return
		}
		if o, err := fromUnstructured(u); err == nil {
			onPSC(o)
		}
	})
	_, err := k.dynf.ForResource(PSCResource).Informer().AddEventHandler(pscHandler)
	return err
}

func eventHandler(fn func(metav1.Object)) cache.ResourceEventHandler {
	call := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if m, ok := obj.(metav1.Object); ok {
			fn(m)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    call,
		UpdateFunc: func(_, obj any) { call(obj) },
		DeleteFunc: call,
	}
}

// start runs the informers and waits for their caches.
func (k *kube) start(ctx context.Context) error {
	k.factory.Start(ctx.Done())
	k.dynf.Start(ctx.Done())
	for typ, ok := range k.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubernetes: cache of %v did not sync", typ)
		}
	}
	for typ, ok := range k.dynf.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubernetes: cache of %v did not sync", typ)
		}
	}
	return nil
}

// listPSCs reads every PSC object from the cache.
func (k *kube) listPSCs() ([]*PSCObject, error) {
	objs, err := k.pscs.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	out := make([]*PSCObject, 0, len(objs))
	for _, obj := range objs {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		if o, err := fromUnstructured(u); err == nil {
			out = append(out, o)
		}
	}
	return out, nil
}

// getPSC reads a PSC object from the cache.
func (k *kube) getPSC(name string) (*PSCObject, error) {
	obj, err := k.pscs.Get(name)
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("PSC %s: unexpected %T", name, obj)
	}
	return fromUnstructured(u)
}

// ensure applies desired unless the fields this satellite manages on the live object
// already equal it. That makes a reconcile with nothing to change free of writes, and it
// repairs any field someone else took over or changed.
func ensure[L any, AC any](ctx context.Context, k *kube, kind string, desired AC, get func() (L, error), extract func(L, string) (AC, error), apply func(context.Context, AC, metav1.ApplyOptions) (L, error)) (bool, error) {
	live, err := get()
	switch {
	case err == nil:
		current, err := extract(live, FieldManager)
		if err == nil && sameJSON(current, desired) {
			return false, nil
		}

	case !apierrors.IsNotFound(err):
		return false, err
	}
	start := time.Now()
	_, err = apply(ctx, desired, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	k.observeApply(kind, start, err)
	if err != nil {
		return false, err
	}
	return true, nil
}

// observeApply records how long a server-side apply took.
func (k *kube) observeApply(kind string, start time.Time, err error) {
	metrics.ObserveApply(k.satellite, kind, time.Since(start), err)
}

// sameJSON compares two apply configurations by their JSON form, where an empty object
// (an extracted template's "status": {}, say) sets nothing and so counts as absent.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(pruneEmpty(va), pruneEmpty(vb))
}

func pruneEmpty(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			e = pruneEmpty(e)
			if m, ok := e.(map[string]any); (ok && len(m) == 0) || e == nil {
				delete(t, k)
				continue
			}
			t[k] = e
		}
		return t
	case []any:
		for i := range t {
			t[i] = pruneEmpty(t[i])
		}
	}
	return v
}
