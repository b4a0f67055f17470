package satellite

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/orbitcp/orbit/kv"
)

// kube is the satellite's view of its Kubernetes: informers on exactly the objects it owns
// (selected by its labels) and the client to change them.
type kube struct {
	client     kubernetes.Interface
	factory    informers.SharedInformerFactory
	namespaces corelisters.NamespaceLister
	configs    corelisters.ConfigMapLister
	services   corelisters.ServiceLister
	sets       appslisters.StatefulSetLister
}

// ownedSelector selects what this satellite owns.
func ownedSelector(satellite string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: FieldManager, LabelSatellite: satellite})
}

func newKube(client kubernetes.Interface, satellite string) *kube {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ownedSelector(satellite).String() }))
	return &kube{
		client:     client,
		factory:    f,
		namespaces: f.Core().V1().Namespaces().Lister(),
		configs:    f.Core().V1().ConfigMaps().Lister(),
		services:   f.Core().V1().Services().Lister(),
		sets:       f.Apps().V1().StatefulSets().Lister(),
	}
}

// onChange calls fn with the desired key of every owned object that changes or goes away,
// so that drift is repaired.
func (k *kube) onChange(fn func(key string)) error {
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { notifyKey(obj, fn) },
		UpdateFunc: func(_, obj any) { notifyKey(obj, fn) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			notifyKey(obj, fn)
		},
	}
	for _, inf := range []cache.SharedIndexInformer{
		k.factory.Core().V1().Namespaces().Informer(),
		k.factory.Core().V1().ConfigMaps().Informer(),
		k.factory.Core().V1().Services().Informer(),
		k.factory.Apps().V1().StatefulSets().Informer(),
	} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	return nil
}

func notifyKey(obj any, fn func(string)) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	l := m.GetLabels()
	key := kv.Key{Satellite: l[LabelSatellite], Product: kv.Product(l[LabelProduct]), Cluster: l[LabelCluster]}
	if key.Validate() == nil {
		fn(key.String())
	}
}

// start runs the informers and waits for their caches.
func (k *kube) start(ctx context.Context) error {
	k.factory.Start(ctx.Done())
	for typ, ok := range k.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("kubernetes: cache of %v did not sync", typ)
		}
	}
	return nil
}

// ensure applies desired unless the fields this satellite manages on the live object
// already equal it. That makes a reconcile with nothing to change free of writes, and it
// repairs any field someone else took over or changed.
func ensure[L any, AC any](ctx context.Context, desired AC, get func() (L, error), extract func(L, string) (AC, error), apply func(context.Context, AC, metav1.ApplyOptions) (L, error)) (bool, error) {
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
	if _, err := apply(ctx, desired, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return false, err
	}
	return true, nil
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
