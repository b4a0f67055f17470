package satellite

import (
	"testing"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestPublisherResendsToAHubThatLostItsState: a status the hub acknowledged is not sent
// again while nothing changes, until the hub turns out to be new (resendAll); then every
// acknowledged status is queued once more, and a newer pending one is kept, not replaced.
func TestPublisherResendsToAHubThatLostItsState(t *testing.T) {
	p := newPublisher(nil, testkit.Logger())
	a := &kv.Status{SchemaVersion: kv.SchemaVersion, ID: "pkc-a", Satellite: "sat", Product: kv.ProductKafka, ObservedGeneration: 1, Phase: kv.PhaseReady}
	b := &kv.Status{SchemaVersion: kv.SchemaVersion, ID: "pkc-b", Satellite: "sat", Product: kv.ProductKafka, ObservedGeneration: 2, Phase: kv.PhaseReady}
	for _, st := range []*kv.Status{a, b} {
		p.Set(st)
		p.done(st) // acknowledged by the hub
	}
	again := *a
	p.Set(&again)
	if n := p.Pending(); n != 0 {
		t.Fatalf("%d statuses pending after the hub acknowledged the same ones, want 0", n)
	}
	newer := *b
	newer.ObservedGeneration = 3
	p.Set(&newer)
	p.resendAll()
	if n := p.Pending(); n != 2 {
		t.Fatalf("%d statuses pending after resendAll, want both", n)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[a.Key().String()] != a || p.pending[b.Key().String()] != &newer {
		t.Errorf("pending after resendAll: %v, want the acknowledged a and the newer b", p.pending)
	}
}
