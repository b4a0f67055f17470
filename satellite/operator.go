package satellite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/orbitcp/orbit/kv"
)

// operator is the satellite's operator loop: it materialises each PhysicalStatefulCluster
// object into Kubernetes objects, rolls pods that need a restart one at a time, removes
// what a cluster no longer needs, and writes the object's status. It only ever touches
// objects carrying this satellite's labels.
type operator struct {
	satellite string
	kube      *kube
	render    *renderer
	reporter  *reporter
	log       *slog.Logger
	// after queues the PSC again after d (purge deadlines, held evictions).
	after func(name string, d time.Duration)
	// kafka speaks the Kafka protocol to the clusters; nil when the satellite does not.
	kafka *kafkaAdmins
	// mitigation runs the automated mitigation detectors (mitigation.go); nil: none.
	mitigation *mitigator
	// observeEvery is how often a healthy cluster is read through Kafka (0: kafkaObserveEvery).
	observeEvery time.Duration
	// rebalance moves replicas on resizes (rebalance.go); nil: resizes change StatefulSets
	// only.
	rebalance *rebalancer
	// healthInterval is how often a Kafka cluster's health is read from Kafka.
	healthInterval time.Duration
	// credentials is the mirror of this satellite's sealed Kafka API keys and curve the key
	// pair that opens them (nil: no keys are applied).
	credentials jetstream.KeyValue
	curve       nkeys.KeyPair
	// sender is the control plane's public curve key: credentials sealed by any other key
	// are not opened.
	sender string
	// credentialHold keeps a credentials mirror rebuilt from a new hub from deleting users
	// until it is complete (credhold.go); nil: never held.
	credentialHold *credentialHold
	// reportAddresses reports load balancers by address rather than by DNS name (a
	// simulated cluster: nothing resolves the satellite's domain on a developer's machine).
	reportAddresses bool
}

func (op *operator) reconcile(ctx context.Context, name string) error {
	o, err := op.kube.getPSC(name)
	if apierrors.IsNotFound(err) {
		return nil // no object, nothing to converge; objects are only removed on an explicit delete
	}
	if err != nil {
		return err
	}
	if o.Spec.Satellite != op.satellite {
		return nil
	}
	if _, err := o.asKV(); err != nil {
		// Someone wrote an object the syncer never would; the syncer repairs it.
		return op.writeStatus(ctx, o, op.status(o, kv.PhaseFailed, "InvalidObject", err.Error(), false, nil))
	}
	if o.Spec.Deleted {
		return op.reconcileDeleted(ctx, o)
	}
	users, err := op.restUsers(ctx, o)
	if err != nil {
		return fmt.Errorf("reading credentials: %w", err)
	}
	out, err := op.render.renderWith(o, users)
	if err != nil {
		// A desired state that can never be rendered: terminal until it changes.
		reason := "InvalidDesiredState"
		if ie := (*invalidError)(nil); errors.As(err, &ie) {
			reason = ie.reason
		}
		return op.writeStatus(ctx, o, op.status(o, kv.PhaseFailed, reason, err.Error(), false, nil))
	}
	for _, obj := range out.objects {
		if _, err := obj.ensure(ctx, op.kube); err != nil {
			_ = op.writeStatus(ctx, o, op.status(o, kv.PhaseProvisioning, "ApplyFailed", fmt.Sprintf("%s %s: %v", obj.kind, obj.name, err), false, nil))
			return fmt.Errorf("%s %s/%s: %w", obj.kind, out.namespace, obj.name, err)
		}
	}
	if err := op.prune(ctx, o, out); err != nil {
		return err
	}
	storage, storageReason, err := op.resizeVolumes(ctx, o, out)
	if err != nil {
		return err
	}
	rolling, err := op.roll(ctx, o, out)
	if err != nil {
		return err
	}
	st := op.observe(o, out, rolling)
	if storage != "" {
		// Growing or held; the cluster keeps serving meanwhile. The resizer's progress
		// shows on the claims, which the informer watches: the next reconcile sees it.
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, metav1.Condition{Type: conditionStorage,
			Status: metav1.ConditionFalse, Reason: storageReason, Message: storage, ObservedGeneration: o.Generation})
	}
	op.reconcileKafka(ctx, o, out, &st)
	return op.writeStatus(ctx, o, st)
}

// owned lists the kinds a cluster's objects come in, with how to list and delete them.
type ownedKind struct {
	kind   string
	list   func(k *kube, ns string, sel labels.Selector) ([]string, error)
	delete func(ctx context.Context, k *kube, ns, name string) error
}

var prunable = []ownedKind{
	{"StatefulSet", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.sets.StatefulSets(ns).List(sel)
		return names(l, err, func(o *appsv1.StatefulSet) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.AppsV1().StatefulSets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
	{"Service", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.services.Services(ns).List(sel)
		return names(l, err, func(o *corev1Service) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
	{"ConfigMap", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.configs.ConfigMaps(ns).List(sel)
		return names(l, err, func(o *corev1ConfigMap) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
	{"Secret", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.secrets.Secrets(ns).List(sel)
		return names(l, err, func(o *corev1Secret) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
	{"ServiceAccount", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.accounts.ServiceAccounts(ns).List(sel)
		return names(l, err, func(o *corev1ServiceAccount) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.CoreV1().ServiceAccounts(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
	// Cluster-scoped, selected by the cluster's label like the rest.
	{"ClusterRoleBinding", func(k *kube, _ string, sel labels.Selector) ([]string, error) {
		l, err := k.bindings.List(sel)
		return names(l, err, func(o *rbacv1ClusterRoleBinding) string { return o.Name })
	}, func(ctx context.Context, k *kube, _, name string) error {
		return k.client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
	}},
	{"PodDisruptionBudget", func(k *kube, ns string, sel labels.Selector) ([]string, error) {
		l, err := k.budgets.PodDisruptionBudgets(ns).List(sel)
		return names(l, err, func(o *policyv1PDB) string { return o.Name })
	}, func(ctx context.Context, k *kube, ns, name string) error {
		return k.client.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, name, metav1.DeleteOptions{})
	}},
}

func names[T any](items []T, err error, name func(T) string) ([]string, error) {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, name(it))
	}
	return out, err
}

// clusterSelector selects one cluster's objects among this satellite's.
func (op *operator) clusterSelector(o *PSCObject) labels.Selector {
	return labels.SelectorFromSet(labels.Set{LabelManagedBy: FieldManager, LabelSatellite: op.satellite, LabelCluster: o.Name})
}

// prune deletes this cluster's objects that the rendering no longer has (the load balancer
// of a broker scaled away, say). Volumes are never pruned.
func (op *operator) prune(ctx context.Context, o *PSCObject, out *rendered) error {
	want := map[string]bool{}
	for _, d := range out.objects {
		want[d.kind+"/"+d.name] = true
	}
	sel := op.clusterSelector(o)
	for _, k := range prunable {
		have, err := k.list(op.kube, out.namespace, sel)
		if err != nil {
			return err
		}
		for _, n := range have {
			if want[k.kind+"/"+n] {
				continue
			}
			op.log.Info("removing an object the cluster no longer needs", "cluster", o.Name, "kind", k.kind, "name", n)
			if err := k.delete(ctx, op.kube, out.namespace, n); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// observe reads the workloads from the cache and derives the status for the desired
// generation just applied.
func (op *operator) observe(o *PSCObject, out *rendered, rolling string) PSCObjectStatus {
	var roles []kv.RoleStatus
	allReady, rolledOut := true, rolling == ""
	var held, heldReason, draining string
	var primary kv.RoleStatus
	for _, w := range out.workloads {
		rs := kv.RoleStatus{Name: w.role, Replicas: w.replicas}
		if sts, err := op.kube.sets.StatefulSets(out.namespace).Get(w.name); err == nil {
			st := sts.Status
			rs.Ready = st.ReadyReplicas
			if st.ObservedGeneration < sts.Generation || st.Replicas != w.replicas || st.UpdatedReplicas != w.replicas {
				rolledOut = false
			}
		} else {
			rolledOut = false
		}
		allReady = allReady && rs.Ready == w.replicas
		if w.held != "" {
			held, heldReason = w.held, w.heldReason
		}
		if w.draining != "" {
			draining = w.draining
		}
		roles = append(roles, rs)
		primary = rs // the last workload is the one clients use (kafka: brokers)
	}
	wasReady := o.Status.DesiredGeneration == o.Spec.Generation && (o.Status.Phase == kv.PhaseReady || o.Status.Phase == kv.PhaseDegraded)
	msg := fmt.Sprintf("%d of %d %ss ready", primary.Ready, primary.Replicas, primary.Name)
	var st PSCObjectStatus
	switch {
	case held != "":
		st = op.status(o, kv.PhaseDegraded, heldReason, held, true, roles)
	case draining != "":
		st = op.status(o, kv.PhaseProvisioning, "Draining", draining, true, roles)
	case rolledOut && allReady:
		st = op.status(o, kv.PhaseReady, "Ready", msg, true, roles)
	case rolling != "":
		st = op.status(o, kv.PhaseProvisioning, "RollingRestart", rolling, true, roles)
	case wasReady:
		st = op.status(o, kv.PhaseDegraded, "ReplicasNotReady", msg, true, roles)
	default:
		st = op.status(o, kv.PhaseProvisioning, "Converging", msg, true, roles)
	}
	st.Replicas, st.ReadyReplicas = primary.Replicas, primary.Ready
	st.Bootstrap, st.BootstrapHost = op.bootstrap(out)
	if out.tls != nil && out.tls.ca != nil {
		st.CACertificate, st.CertificateSerial = string(out.tls.ca.certPEM), out.tls.serial
	}
	return st
}

// bootstrap is the client endpoint: the DNS name published for its load balancer, once
// the load balancer has an address for the name to point at.
func (op *operator) bootstrap(out *rendered) (addr, host string) {
	svc, err := op.kube.services.Services(out.namespace).Get(out.bootstrapService)
	if err != nil {
		return "", ""
	}
	port := strconv.Itoa(int(out.port))
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case op.reportAddresses && in.IP != "":
			return net.JoinHostPort(in.IP, port), out.bootstrapHost
		case in.Hostname != "" || in.IP != "":
			return net.JoinHostPort(out.bootstrapHost, port), out.bootstrapHost
		}
	}
	return "", ""
}

// status builds a status; applied says the desired generation was fully applied.
func (op *operator) status(o *PSCObject, phase kv.Phase, reason, message string, applied bool, roles []kv.RoleStatus) PSCObjectStatus {
	st := PSCObjectStatus{
		ObservedGeneration: o.Generation, DesiredGeneration: o.Status.DesiredGeneration, ProfileRevision: o.Status.ProfileRevision,
		Phase: phase, Reason: reason, Message: message, Roles: roles,
		Replicas: o.Status.Replicas, ReadyReplicas: o.Status.ReadyReplicas,
		// What was issued and observed stays true until observed again.
		CACertificate: o.Status.CACertificate, CertificateSerial: o.Status.CertificateSerial, Brokers: o.Status.Brokers,
		Data: o.Status.Data, Mitigations: o.Status.Mitigations, Kafka: o.Status.Kafka,
	}
	if applied {
		st.DesiredGeneration, st.ProfileRevision = o.Spec.Generation, o.Spec.ProfileRevision
	}
	cond := func(typ string, ok bool) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: message, ObservedGeneration: o.Generation}
	}
	for _, c := range []metav1.Condition{
		cond("Ready", phase == kv.PhaseReady),
		cond("Progressing", phase == kv.PhaseProvisioning || phase == kv.PhaseDeleting),
		cond("Degraded", phase == kv.PhaseDegraded || phase == kv.PhaseFailed),
	} {
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, c)
	}
	return st
}

// writeStatus writes the object's status if it changed (ignoring transition times), then
// reports it to the hub (the publisher drops what the hub already has): the PSC object is
// the satellite's record, and the hub never hears of a state the object does not hold.
func (op *operator) writeStatus(ctx context.Context, o *PSCObject, st PSCObjectStatus) error {
	if !sameStatus(o.Status, st) {
		next := *o
		next.Status = st
		u, err := toUnstructured(&next)
		if err != nil {
			return err
		}
		if _, err := op.kube.dynamic.Resource(PSCResource).UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return fmt.Errorf("status of PSC %s: %w", o.Name, err)
		}
	}
	op.reporter.report(o.key(), o.Spec.Generation, &st)
	return nil
}

func sameStatus(a, b PSCObjectStatus) bool {
	strip := func(s PSCObjectStatus) PSCObjectStatus {
		s.Conditions = slices.Clone(s.Conditions)
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		return s
	}
	return sameJSON(strip(a), strip(b))
}
