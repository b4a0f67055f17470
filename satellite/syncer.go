package satellite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
)

// syncer is the satellite's sync loop: it turns each desired key of its local mirror into
// a PhysicalStatefulCluster object, level-based, with server-side apply. An invalid value
// is reported and never applied: the cluster keeps what it last had.
type syncer struct {
	satellite string
	desired   jetstream.KeyValue
	kube      *kube
	reporter  *reporter
	log       *slog.Logger
	// operate queues the PSC for the operator (after a failure clears, say).
	operate func(name string)
}

func (s *syncer) reconcile(ctx context.Context, keyStr string) error {
	key, err := kv.ParseKey(keyStr)
	if err != nil || key.Satellite != s.satellite {
		s.log.Warn("ignoring a desired key that is not this satellite's", "key", keyStr, "error", err)
		return nil
	}
	entry, err := s.desired.Get(ctx, keyStr)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		// No desired state is not a request to delete anything: only an explicitly deleted
		// PSC is.
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading desired %s: %w", keyStr, err)
	}
	psc, err := kv.DecodePSC(entry.Value())
	if err == nil && psc.Key() != key {
		err = fmt.Errorf("%w: the value is for key %s", kv.ErrInvalid, psc.Key())
	}
	if err != nil {
		s.log.Warn("invalid desired state", "key", keyStr, "error", err)
		s.reporter.fail(key, lenientGeneration(entry.Value()), err.Error())
		return nil
	}
	if s.reporter.clear(key) {
		s.operate(psc.ID)
	}
	want := pscFromKV(psc)
	live, err := s.kube.getPSC(psc.ID)
	switch {
	case err == nil:
		if live.Spec.Generation > want.Spec.Generation {
			return nil // never go back to an older desired state
		}
		if sameJSON(live.Spec, want.Spec) && labelsInclude(live.Labels, want.Labels) {
			return nil
		}
	case !apierrors.IsNotFound(err):
		return err
	}
	u, err := toUnstructured(want)
	if err != nil {
		return err
	}
	delete(u.Object, "status")
	start := time.Now()
	_, err = s.kube.dynamic.Resource(PSCResource).Apply(ctx, want.Name, u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	s.kube.observeApply(pscKind, start, err)
	if err != nil {
		return fmt.Errorf("applying PSC %s: %w", want.Name, err)
	}
	return nil
}

func labelsInclude(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
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
