package satellite

import (
	"fmt"
	"net"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/orbitcp/orbit/kv"
)

// observe reads the cluster's workload from the informer cache and reports its state for
// the generation just applied.
func (r *reconciler) observe(key kv.Key, psc *kv.PSC) *kv.Status {
	ns, name := Namespace(psc.ID), workloadName(psc.Product)
	sts, err := r.kube.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// Applied a moment ago; the cache has not seen it yet. Its add event requeues us.
		return r.status(key, psc, kv.PhaseProvisioning, "Creating", "waiting for the workload", true)
	}
	if err != nil {
		return r.status(key, psc, kv.PhaseProvisioning, "ObserveFailed", err.Error(), true)
	}
	want := psc.Spec.Replicas
	st := sts.Status
	ready := st.ReadyReplicas
	rolledOut := st.ObservedGeneration >= sts.Generation && st.Replicas == want && st.UpdatedReplicas == want &&
		(st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision)

	var s *kv.Status
	k := key.String()
	r.mu.Lock()
	wasReady := r.readyAt[k] == psc.Generation
	r.mu.Unlock()
	msg := fmt.Sprintf("%d of %d ready", ready, want)
	switch {
	case rolledOut && ready == want:
		s = r.status(key, psc, kv.PhaseReady, "Ready", msg, true)
		r.mu.Lock()
		r.readyAt[k] = psc.Generation
		r.mu.Unlock()
	case wasReady:
		s = r.status(key, psc, kv.PhaseDegraded, "ReplicasNotReady", msg, true)
	case !rolledOut:
		s = r.status(key, psc, kv.PhaseProvisioning, "RollingOut", msg, true)
	default:
		s = r.status(key, psc, kv.PhaseProvisioning, "WaitingForReplicas", msg, true)
	}
	s.ReadyReplicas = ready
	s.Bootstrap = r.bootstrap(psc)
	return s
}

// bootstrap is the address of the bootstrap load balancer, once it has one.
func (r *reconciler) bootstrap(psc *kv.PSC) string {
	svc, err := r.kube.services.Services(Namespace(psc.ID)).Get(workloadName(psc.Product) + "-bootstrap")
	if err != nil {
		return ""
	}
	port := strconv.Itoa(int(clientPorts[psc.Product]))
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case in.Hostname != "":
			return net.JoinHostPort(in.Hostname, port)
		case in.IP != "":
			return net.JoinHostPort(in.IP, port)
		}
	}
	return ""
}
