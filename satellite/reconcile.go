package satellite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
)

// reconciler converges one desired key at a time: it re-reads the latest value from the
// local mirror, applies what differs, observes, and reports. observedGeneration only moves
// when everything of a generation was applied.
type reconciler struct {
	satellite string
	desired   jetstream.KeyValue
	kube      *kube
	pub       *publisher
	log       *slog.Logger

	mu sync.Mutex
	// readyAt is the last generation each key was ready at, to tell degraded from
	// provisioning.
	readyAt map[string]int64
	// conditions keeps each key's last conditions, for their transition times.
	conditions map[string][]kv.Condition
	// observed is the last generation each key was fully applied at.
	observed map[string]int64
}

func newReconciler(satellite string, desired jetstream.KeyValue, k *kube, pub *publisher, log *slog.Logger) *reconciler {
	return &reconciler{satellite: satellite, desired: desired, kube: k, pub: pub, log: log,
		readyAt: map[string]int64{}, conditions: map[string][]kv.Condition{}, observed: map[string]int64{}}
}

func (r *reconciler) reconcile(ctx context.Context, keyStr string) error {
	key, err := kv.ParseKey(keyStr)
	if err != nil || key.Satellite != r.satellite {
		r.log.Warn("ignoring a desired key that is not this satellite's", "key", keyStr, "error", err)
		return nil
	}
	entry, err := r.desired.Get(ctx, keyStr)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		// No desired state is not a request to delete: only an explicit deleted PSC removes
		// anything. Leave the objects alone.
		r.log.Debug("no desired state for key", "key", keyStr)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading desired %s: %w", keyStr, err)
	}
	psc, err := kv.DecodePSC(entry.Value())
	if err == nil && psc.Key() != key {
		err = fmt.Errorf("%w: value is for key %s", kv.ErrInvalid, psc.Key())
	}
	if err != nil {
		r.log.Warn("invalid desired state", "key", keyStr, "error", err)
		r.pub.Set(r.failed(key, lenientGeneration(entry.Value()), err))
		return nil
	}
	if psc.Deleted {
		return r.reconcileDeleted(ctx, key, psc)
	}
	objs, err := render(r.satellite, psc)
	if err != nil {
		r.pub.Set(r.failed(key, psc.Generation, err))
		return nil
	}
	if err := r.apply(ctx, objs); err != nil {
		r.pub.Set(r.status(key, psc, kv.PhaseProvisioning, "ApplyFailed", err.Error(), false))
		return err
	}
	r.pub.Set(r.observe(key, psc))
	return nil
}

// lenientGeneration digs the generation out of a value that does not decode, so that the
// failure can be tied to it.
func lenientGeneration(data []byte) int64 {
	var v struct {
		Generation int64 `json:"generation"`
	}
	_ = json.Unmarshal(data, &v)
	return v.Generation
}

func (r *reconciler) apply(ctx context.Context, o *objects) error {
	k := r.kube
	c := k.client
	ns := *o.namespace.Name
	steps := []func() (bool, error){
		func() (bool, error) {
			return ensure(ctx, o.namespace, func() (*corev1.Namespace, error) { return k.namespaces.Get(ns) },
				corev1ac.ExtractNamespace, c.CoreV1().Namespaces().Apply)
		},
		func() (bool, error) {
			return ensure(ctx, o.config, func() (*corev1.ConfigMap, error) { return k.configs.ConfigMaps(ns).Get(*o.config.Name) },
				corev1ac.ExtractConfigMap, c.CoreV1().ConfigMaps(ns).Apply)
		},
		func() (bool, error) {
			return ensure(ctx, o.headless, func() (*corev1.Service, error) { return k.services.Services(ns).Get(*o.headless.Name) },
				corev1ac.ExtractService, c.CoreV1().Services(ns).Apply)
		},
		func() (bool, error) {
			return ensure(ctx, o.bootstrap, func() (*corev1.Service, error) { return k.services.Services(ns).Get(*o.bootstrap.Name) },
				corev1ac.ExtractService, c.CoreV1().Services(ns).Apply)
		},
		func() (bool, error) {
			return ensure(ctx, o.statefulSet, func() (*appsv1.StatefulSet, error) { return k.sets.StatefulSets(ns).Get(*o.statefulSet.Name) },
				appsv1ac.ExtractStatefulSet, c.AppsV1().StatefulSets(ns).Apply)
		},
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			return err
		}
	}
	return nil
}

// reconcileDeleted removes the workloads, services and configuration of a deleted cluster.
// The namespace and the volumes stay, so that an undelete gets the data back.
func (r *reconciler) reconcileDeleted(ctx context.Context, key kv.Key, psc *kv.PSC) error {
	ns := Namespace(psc.ID)
	name := workloadName(psc.Product)
	k := r.kube
	remaining := 0
	del := func(exists bool, err error, remove func() error) error {
		if apierrors.IsNotFound(err) || (err == nil && !exists) {
			return nil
		}
		if err != nil {
			return err
		}
		remaining++
		if err := remove(); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	}
	opts := metav1.DeleteOptions{}
	_, err := k.sets.StatefulSets(ns).Get(name)
	if err := del(err == nil, err, func() error { return k.client.AppsV1().StatefulSets(ns).Delete(ctx, name, opts) }); err != nil {
		return err
	}
	for _, svc := range []string{name + "-bootstrap", name + "-headless"} {
		_, err := k.services.Services(ns).Get(svc)
		if err := del(err == nil, err, func() error { return k.client.CoreV1().Services(ns).Delete(ctx, svc, opts) }); err != nil {
			return err
		}
	}
	_, err = k.configs.ConfigMaps(ns).Get(name + "-config")
	if err := del(err == nil, err, func() error { return k.client.CoreV1().ConfigMaps(ns).Delete(ctx, name+"-config", opts) }); err != nil {
		return err
	}
	if remaining > 0 {
		r.pub.Set(r.status(key, psc, kv.PhaseDeleting, "Deleting", fmt.Sprintf("removing %d objects", remaining), false))
		return nil // the informers report the deletions and requeue the key
	}
	st := r.status(key, psc, kv.PhaseDeleted, "Deleted", "workloads removed; volumes kept", true)
	r.pub.Set(st)
	return nil
}

// status builds a status; applied says whether this generation was fully applied.
func (r *reconciler) status(key kv.Key, psc *kv.PSC, phase kv.Phase, reason, message string, applied bool) *kv.Status {
	st := &kv.Status{
		SchemaVersion: kv.SchemaVersion, ID: key.Cluster, Satellite: key.Satellite, Product: key.Product,
		Phase: phase, Reason: reason, Message: message, Replicas: psc.Spec.Replicas, UpdatedAt: time.Now().UTC(),
	}
	if applied {
		st.ObservedGeneration = psc.Generation
	} else {
		st.ObservedGeneration = r.lastObserved(key)
	}
	ready := phase == kv.PhaseReady
	r.setConditions(st, psc.Generation,
		cond("Ready", ready, reason, message),
		cond("Progressing", phase == kv.PhaseProvisioning || phase == kv.PhaseDeleting, reason, message),
		cond("Degraded", phase == kv.PhaseDegraded, reason, message),
	)
	return st
}

// failed reports a desired state that can never converge as written.
func (r *reconciler) failed(key kv.Key, generation int64, err error) *kv.Status {
	st := &kv.Status{
		SchemaVersion: kv.SchemaVersion, ID: key.Cluster, Satellite: key.Satellite, Product: key.Product,
		Phase: kv.PhaseFailed, Reason: "InvalidDesiredState", Message: err.Error(),
		ObservedGeneration: r.lastObserved(key), UpdatedAt: time.Now().UTC(),
	}
	r.setConditions(st, generation,
		cond("Ready", false, "InvalidDesiredState", err.Error()),
		cond("Stalled", true, "InvalidDesiredState", err.Error()),
	)
	return st
}

func cond(typ string, ok bool, reason, message string) kv.Condition {
	s := "False"
	if ok {
		s = "True"
	}
	if reason == "" {
		reason = typ
	}
	return kv.Condition{Type: typ, Status: s, Reason: reason, Message: message}
}

// setConditions stamps generation and keeps transition times of unchanged conditions.
func (r *reconciler) setConditions(st *kv.Status, generation int64, conds ...kv.Condition) {
	key := st.Key().String()
	now := time.Now().UTC()
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := map[string]kv.Condition{}
	for _, c := range r.conditions[key] {
		prev[c.Type] = c
	}
	for i := range conds {
		conds[i].ObservedGeneration = generation
		conds[i].LastTransitionTime = now
		if p, ok := prev[conds[i].Type]; ok && p.Status == conds[i].Status {
			conds[i].LastTransitionTime = p.LastTransitionTime
		}
	}
	st.Conditions = conds
	r.conditions[key] = conds
	if st.ObservedGeneration > 0 {
		r.observed[key] = st.ObservedGeneration
	}
}

func (r *reconciler) lastObserved(key kv.Key) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.observed[key.String()]
}
