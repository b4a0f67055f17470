package satellite

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// hubSwitch is the satellite's JetStream as seen from one hub and then from another, as
// when a mothership is restored onto a fresh hub at the same address. It publishes on the
// hub's own subjects (a satellite's go through its leaf node's domain mapping, which the
// end-to-end restore test covers).
type hubSwitch struct {
	jetstream.JetStream
	mu  sync.Mutex
	hub jetstream.JetStream
}

func (h *hubSwitch) use(js jetstream.JetStream) {
	h.mu.Lock()
	h.hub = js
	h.mu.Unlock()
}

func (h *hubSwitch) current() jetstream.JetStream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hub
}

func local(subject string) string { return strings.TrimPrefix(subject, "$JS."+kv.HubDomain+".API.") }

func (h *hubSwitch) Publish(ctx context.Context, subject string, data []byte, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return h.current().Publish(ctx, local(subject), data, opts...)
}

func (h *hubSwitch) PublishAsync(subject string, data []byte, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	return h.current().PublishAsync(local(subject), data, opts...)
}

// TestHeartbeatFindsANewHub: while the hub holds the satellite's last heartbeat (or a later
// one whose acknowledgement was lost), nothing happens besides heartbeats; a hub that does not (restored onto a fresh hub) is told apart
// at the next heartbeat whatever its stream sequences: every acknowledged status is queued
// again, the desired mirror is told to start over, and the satellite registers on the new
// hub, which then holds its statuses.
func TestHeartbeatFindsANewHub(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old, fresh := hubtest.StartHub(t), hubtest.StartHub(t)
	// The new hub's satellites stream is ahead of the old one's: a sequence comparison
	// would take it for the same hub.
	for range 5 {
		if _, err := fresh.JS.Publish(ctx, "$KV."+kv.BucketSatellites+".other", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	js := &hubSwitch{hub: old.JS}
	s := &Satellite{cfg: Config{Name: "sat", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, HeartbeatInterval: 50 * time.Millisecond}, log: testkit.Logger()}
	pub := newPublisher(js, s.log)
	st := &kv.Status{SchemaVersion: kv.SchemaVersion, ID: "pkc-a", Satellite: "sat", Product: kv.ProductKafka, ObservedGeneration: 1, Phase: kv.PhaseReady}
	pub.Set(st)
	pub.flush(ctx)
	if pub.Pending() != 0 {
		t.Fatal("the old hub did not acknowledge the status")
	}
	newHub := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- s.heartbeat(ctx, js, pub, func() bool { return true }, newHub) }()

	registration := func(h *hubtest.Hub) (uint64, error) {
		b, err := h.JS.KeyValue(ctx, kv.BucketSatellites)
		if err != nil {
			return 0, err
		}
		e, err := b.Get(ctx, "sat")
		if err != nil {
			return 0, err
		}
		return e.Revision(), nil
	}
	// Several heartbeats on the same hub: no new hub.
	testkit.CheckFor(t, 5*time.Second, func() error {
		rev, err := registration(old)
		if err == nil && rev < 3 {
			err = fmt.Errorf("registration at revision %d", rev)
		}
		return err
	})
	// A heartbeat the hub stored but whose acknowledgement was lost: still the same hub.
	if _, err := old.JS.Publish(ctx, "$KV."+kv.BucketSatellites+".sat", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	seen, _ := registration(old)
	testkit.CheckFor(t, 5*time.Second, func() error {
		rev, err := registration(old)
		if err == nil && rev < seen+3 {
			err = fmt.Errorf("registration at revision %d", rev)
		}
		return err
	})
	select {
	case <-newHub:
		t.Fatal("the hub that holds the last heartbeat was taken for a new one")
	default:
	}
	if pub.Pending() != 0 {
		t.Fatal("statuses queued again on the same hub")
	}

	js.use(fresh.JS)
	select {
	case <-newHub:
	case <-time.After(5 * time.Second):
		t.Fatal("a fresh hub was not told apart")
	}
	testkit.CheckFor(t, 5*time.Second, func() error { _, err := registration(fresh); return err })
	pub.flush(ctx)
	actual, err := fresh.JS.KeyValue(ctx, kv.BucketActual)
	if err != nil {
		t.Fatal(err)
	}
	e, err := actual.Get(ctx, st.Key().String())
	if err != nil {
		t.Fatalf("the fresh hub lacks the status the satellite had reported to the old one: %v", err)
	}
	if got, err := kv.DecodeStatus(e.Value()); err != nil || got.ObservedGeneration != 1 {
		t.Fatalf("status on the fresh hub: %+v, %v", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
