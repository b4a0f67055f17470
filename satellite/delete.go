package satellite

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/orbitcp/orbit/kv"
)

// keptWithVolumes are the Secrets that belong with a Kafka cluster's data: its storage
// holds the super user's SCRAM credential (formatted in once) and data its clients reach
// with the CA they were given, so an undelete must find both again. They go when the
// volumes go.
var keptWithVolumes = map[string]bool{superUserSecret: true, caSecretName: true}

// reconcileDeleted removes a deleted cluster's workloads, services, configuration and
// secrets, and keeps its volumes (and namespace, and the secrets that go with the volumes)
// for an undelete until the PSC's purge time; then it purges the volumes and those
// secrets, and the namespace if nothing else lives there.
func (op *operator) reconcileDeleted(ctx context.Context, o *PSCObject) error {
	ns := Namespace(o.Name)
	sel := op.clusterSelector(o)
	op.closeKafka(o.Name)
	remaining := 0
	for _, k := range prunable {
		have, err := k.list(op.kube, ns, sel)
		if err != nil {
			return err
		}
		for _, n := range have {
			if k.kind == "Secret" && keptWithVolumes[n] {
				continue
			}
			remaining++
			if err := k.delete(ctx, op.kube, ns, n); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	if remaining > 0 {
		return op.writeStatus(ctx, o, op.status(o, kv.PhaseDeleting, "Deleting", fmt.Sprintf("removing %d objects; volumes are kept", remaining), false, nil))
	}
	if o.Spec.PurgeAfter == nil || time.Now().Before(o.Spec.PurgeAfter.Time) {
		if o.Spec.PurgeAfter != nil {
			op.after(o.Name, time.Until(o.Spec.PurgeAfter.Time)+time.Second)
		}
		msg := "workloads removed; volumes kept"
		if o.Spec.PurgeAfter != nil {
			msg += " until " + o.Spec.PurgeAfter.UTC().Format(time.RFC3339)
		}
		return op.writeStatus(ctx, o, op.status(o, kv.PhaseDeleted, "Deleted", msg, true, nil))
	}
	claims, err := op.kube.claims.PersistentVolumeClaims(ns).List(sel)
	if err != nil {
		return err
	}
	for _, c := range claims {
		if err := op.kube.client.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, c.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if len(claims) > 0 {
		return op.writeStatus(ctx, o, op.status(o, kv.PhaseDeleted, "Purging", fmt.Sprintf("deleting %d volumes", len(claims)), true, nil))
	}
	for name := range keptWithVolumes {
		if _, err := op.kube.secrets.Secrets(ns).Get(name); apierrors.IsNotFound(err) {
			continue
		}
		if err := op.kube.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := op.deleteNamespaceIfOnlyOurs(ctx, ns); err != nil {
		return err
	}
	return op.writeStatus(ctx, o, op.status(o, kv.PhasePurged, "Purged", "workloads and volumes removed", true, nil))
}

// deleteNamespaceIfOnlyOurs deletes the cluster's namespace unless it holds something this
// satellite did not create: the satellite never deletes what it does not own.
func (op *operator) deleteNamespaceIfOnlyOurs(ctx context.Context, ns string) error {
	live, err := op.kube.namespaces.Get(ns)
	if apierrors.IsNotFound(err) || (err == nil && live.DeletionTimestamp != nil) {
		return nil
	}
	if err != nil {
		return err
	}
	notOurs := metav1.ListOptions{LabelSelector: "!" + LabelManagedBy}
	c := op.kube.client
	counts := []func() (int, error){
		func() (int, error) {
			l, err := c.CoreV1().ConfigMaps(ns).List(ctx, notOurs)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, cm := range l.Items {
				if cm.Name != "kube-root-ca.crt" { // every namespace gets one
					n++
				}
			}
			return n, nil
		},
		func() (int, error) { l, err := c.CoreV1().Secrets(ns).List(ctx, notOurs); return lenOr(l, err) },
		func() (int, error) { l, err := c.CoreV1().Services(ns).List(ctx, notOurs); return lenOr(l, err) },
		func() (int, error) {
			l, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, notOurs)
			return lenOr(l, err)
		},
		func() (int, error) { l, err := c.CoreV1().Pods(ns).List(ctx, notOurs); return lenOr(l, err) },
		func() (int, error) { l, err := c.AppsV1().StatefulSets(ns).List(ctx, notOurs); return lenOr(l, err) },
		func() (int, error) { l, err := c.AppsV1().Deployments(ns).List(ctx, notOurs); return lenOr(l, err) },
	}
	for _, count := range counts {
		n, err := count()
		if err != nil {
			return err
		}
		if n > 0 {
			op.log.Info("keeping a purged cluster's namespace: it holds objects this satellite does not own", "namespace", ns)
			return nil
		}
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// lenOr is the number of items of a list response.
func lenOr(l runtime.Object, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return meta.LenList(l), nil
}
