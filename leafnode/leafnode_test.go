package leafnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// testLog returns a logger for embedded servers when ORBIT_TEST_NATS_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("ORBIT_TEST_NATS_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TLS settings for the next test hub and leaf (set by the TLS tests only).
var hubTLSForTest, leafTLSForTest *tls.Config

type testHub struct {
	hub  *Hub
	js   jetstream.JetStream
	nc   *nats.Conn
	keys map[string]nkeys.KeyPair
}

func newUserKey(t *testing.T) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return kp, pub
}

// startTestHub starts a hub with the given satellites, creates the buckets and each
// satellite's desired consumer, as the mothership does.
func startTestHub(t *testing.T, satellites ...string) *testHub {
	t.Helper()
	mkp, mpub := newUserKey(t)
	th := &testHub{keys: map[string]nkeys.KeyPair{}}
	var users []SatelliteUser
	for _, s := range satellites {
		kp, pub := newUserKey(t)
		th.keys[s] = kp
		users = append(users, SatelliteUser{Name: s, NKey: pub})
	}
	hub, err := StartHub(HubConfig{StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1", MothershipNKey: mpub, Satellites: users, LeafTLS: hubTLSForTest, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	nc, err := hub.Connect(mkp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := kv.EnsureHub(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	for _, s := range satellites {
		for _, bucket := range kv.MirroredBuckets {
			if _, err := js.CreateOrUpdatePushConsumer(ctx, kv.StreamName(bucket), kv.MirrorConsumer(bucket, s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	th.hub, th.js, th.nc = hub, js, nc
	return th
}

func (th *testHub) put(t *testing.T, bucket, key, value string) {
	t.Helper()
	b, err := th.js.KeyValue(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutString(context.Background(), key, value); err != nil {
		t.Fatal(err)
	}
}

type testLeaf struct {
	leaf *Leaf
	nc   *nats.Conn
	js   jetstream.JetStream
}

func startTestLeaf(t *testing.T, th *testHub, satellite string, kp nkeys.KeyPair) *testLeaf {
	t.Helper()
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := StartLeaf(LeafConfig{Satellite: satellite, StoreDir: t.TempDir(), HubURLs: []string{th.hub.LeafURL()}, Seed: seed, HubTLS: leafTLSForTest, ReconnectInterval: 100 * time.Millisecond, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(leaf.Shutdown)
	testkit.CheckFor(t, 10*time.Second, func() error {
		if !leaf.HubConnected() {
			return errors.New("leaf not connected to hub")
		}
		return nil
	})
	nc, err := leaf.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &testLeaf{leaf: leaf, nc: nc, js: js}
}

func (tl *testLeaf) mirror(t *testing.T, cfg jetstream.StreamConfig) jetstream.KeyValue {
	t.Helper()
	ctx := context.Background()
	if _, err := tl.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := tl.js.KeyValue(ctx, strings.TrimPrefix(cfg.Name, "KV_"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysOf(t *testing.T, b jetstream.KeyValue) []string {
	t.Helper()
	keys, err := b.Keys(context.Background())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestLeafMirrorsOnlyItsOwnKeys(t *testing.T) {
	th := startTestHub(t, "sat-a", "sat-b")
	th.put(t, kv.BucketDesired, "sat-a.kafka.c1", "a1")
	th.put(t, kv.BucketDesired, "sat-b.kafka.c2", "b1")

	a := startTestLeaf(t, th, "sat-a", th.keys["sat-a"])
	desired := a.mirror(t, kv.DesiredMirror("sat-a"))
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := keysOf(t, desired); len(got) != 1 || got[0] != "sat-a.kafka.c1" {
			return fmt.Errorf("keys %v", got)
		}
		return nil
	})

	// A change on the hub reaches the leaf; a watch sees it.
	w, err := desired.Watch(context.Background(), "sat-a.>", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	th.put(t, kv.BucketDesired, "sat-a.kafka.c1", "a2")
	select {
	case e := <-w.Updates():
		if e == nil || string(e.Value()) != "a2" {
			t.Fatalf("watch got %v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no update on the leaf")
	}
}

// TestMirrorCarriesManyKeys pushes more keys than one flow-control window through the
// durable consumer, so the satellite's flow-control replies must reach the hub.
func TestMirrorCarriesManyKeys(t *testing.T) {
	th := startTestHub(t, "sat-a")
	const n = 3000
	b, err := th.js.KeyValue(context.Background(), kv.BucketDesired)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := b.PutString(context.Background(), fmt.Sprintf("sat-a.kafka.c%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	a := startTestLeaf(t, th, "sat-a", th.keys["sat-a"])
	a.mirror(t, kv.DesiredMirror("sat-a"))
	s, err := a.js.Stream(context.Background(), kv.StreamName(kv.BucketDesired))
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if info.State.Msgs != n {
			return fmt.Errorf("mirror has %d of %d keys", info.State.Msgs, n)
		}
		return nil
	})
}
