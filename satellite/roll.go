package satellite

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// evictionRetry is how soon a roll retries after the PDB refused an eviction.
const evictionRetry = 2 * time.Second

// roll restarts the pods whose template is outdated, one pod of the whole cluster at a
// time, through the eviction API so that the PodDisruptionBudget has its say: controllers
// first, then brokers, highest ordinal first, and only when every pod of every set of the
// cluster is there and ready (a broker does not go while a restarted controller is still
// joining the quorum). The StatefulSets use the OnDelete strategy, so nothing else restarts
// them. It returns what it is doing, or "" when no pod is outdated.
func (op *operator) roll(ctx context.Context, o *PSCObject, out *rendered) (string, error) {
	var (
		victim             *corev1.Pod
		victimSet, waiting string
		toGo               int
	)
	for _, w := range out.workloads {
		sts, err := op.kube.sets.StatefulSets(out.namespace).Get(w.name)
		if err != nil {
			continue
		}
		pods, err := op.kube.pods.Pods(out.namespace).List(labels.SelectorFromSet(sts.Spec.Selector.MatchLabels))
		if err != nil {
			return "", err
		}
		// Trust the update revision only once the cache holds the template just applied and
		// the StatefulSet controller has seen it; otherwise a pod already restarted on the new
		// template would look outdated.
		if sts.Spec.Template.Annotations[annotationRestartHash] != w.restartHash || sts.Status.ObservedGeneration < sts.Generation || sts.Status.UpdateRevision == "" {
			if len(pods) > 0 {
				return fmt.Sprintf("rolling %s: waiting for the StatefulSet to take the new template", w.name), nil
			}
			continue
		}
		if waiting == "" && (int32(len(pods)) < w.replicas || !allReady(pods)) {
			waiting = w.name
		}
		if outdated := outdatedPods(pods, sts); victim == nil && len(outdated) > 0 {
			victim, victimSet, toGo = outdated[0], w.name, len(outdated)
		}
	}
	switch {
	case victim == nil:
		return "", nil
	case waiting != "":
		return fmt.Sprintf("rolling %s: waiting for every pod of %s to be ready (%d to restart)", victimSet, waiting, toGo), nil
	}
	// Evict this very pod: the cache may still show a pod that the StatefulSet has already
	// replaced under the same name, and that one must not go too.
	uid := victim.UID
	err := op.kube.client.CoreV1().Pods(out.namespace).EvictV1(ctx, &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: victim.Name, Namespace: out.namespace},
		DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}},
	})
	switch {
	case apierrors.IsTooManyRequests(err):
		op.after(o.Name, evictionRetry)
		return fmt.Sprintf("rolling %s: the disruption budget holds %s", victimSet, victim.Name), nil
	case apierrors.IsConflict(err):
		return fmt.Sprintf("rolling %s: %s was already replaced", victimSet, victim.Name), nil
	case apierrors.IsNotFound(err):
	case err != nil:
		return "", fmt.Errorf("evicting %s: %w", victim.Name, err)
	default:
		op.log.Info("restarting a pod for a new template", "cluster", o.Name, "pod", victim.Name)
	}
	return fmt.Sprintf("rolling %s: restarted %s (%d to go)", victimSet, victim.Name, toGo-1), nil
}

// outdatedPods lists the pods not at the StatefulSet's update revision, highest ordinal
// first.
func outdatedPods(pods []*corev1.Pod, sts *appsv1.StatefulSet) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Labels[appsv1.ControllerRevisionHashLabelKey] != sts.Status.UpdateRevision {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int { return ordinal(b.Name) - ordinal(a.Name) })
	return out
}

func ordinal(pod string) int {
	i := strings.LastIndexByte(pod, '-')
	n, _ := strconv.Atoi(pod[i+1:])
	return n
}

func allReady(pods []*corev1.Pod) bool {
	for _, p := range pods {
		if p.DeletionTimestamp != nil || !podReady(p) {
			return false
		}
	}
	return true
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
