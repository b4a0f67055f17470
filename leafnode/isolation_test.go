package leafnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestSatelliteCannotReachAnotherSatellitesKeys runs satellite A normally and then tries,
// with satellite B's credentials, every way to read A's desired and credentials keys or to
// write where only A or the mothership may write. A positive control (B's own actual key) proves that the
// test can see a write that gets through.
func TestSatelliteCannotReachAnotherSatellitesKeys(t *testing.T) {
	const secret = "secret-of-sat-a"
	th := startTestHub(t, "sat-a", "sat-b")
	th.put(t, kv.BucketDesired, "sat-a.kafka.c1", secret+"-1")
	th.put(t, kv.BucketDesired, "sat-b.kafka.c2", "b")
	th.put(t, kv.BucketCredentials, "sat-a.kafka.c1.kk-1", secret+"-credential")
	th.put(t, kv.BucketCredentials, "sat-b.kafka.c2.kk-2", "b-credential")

	a := startTestLeaf(t, th, "sat-a", th.keys["sat-a"])
	aDesired := a.mirror(t, kv.DesiredMirror("sat-a"))
	aCredentials := a.mirror(t, kv.Mirror(kv.BucketCredentials, "sat-a"))
	b := startTestLeaf(t, th, "sat-b", th.keys["sat-b"])
	b.mirror(t, kv.DesiredMirror("sat-b"))
	bCredentials := b.mirror(t, kv.Mirror(kv.BucketCredentials, "sat-b"))

	// B's client listens to everything its leaf sees, for the whole test.
	var mu sync.Mutex
	var leaked []string
	sub, err := b.nc.Subscribe(">", func(m *nats.Msg) {
		// B's own requests name sat-a in their subjects; what must never arrive is A's data
		// or anything on A's delivery subject.
		if bytes.Contains(m.Data, []byte(secret)) || m.Subject == kv.DesiredDeliverSubject("sat-a") ||
			m.Subject == kv.MirrorDeliverSubject(kv.BucketCredentials, "sat-a") {
			mu.Lock()
			leaked = append(leaked, m.Subject)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Mirrors B might try: bound to A's durable consumer, unfiltered, filtered to A's keys,
	// and with a deliver prefix of its choosing.
	attempts := map[string]*jetstream.StreamSource{
		"bind_a_consumer": {Name: "KV_desired", Domain: kv.HubDomain, Consumer: &jetstream.StreamConsumerSource{
			Name: kv.DesiredConsumerName("sat-a"), DeliverSubject: kv.DesiredDeliverSubject("sat-a")}},
		"unfiltered":   {Name: "KV_desired", Domain: kv.HubDomain},
		"filtered_a":   {Name: "KV_desired", Domain: kv.HubDomain, FilterSubject: kv.DesiredSubjectFilter("sat-a")},
		"own_delivery": {Name: "KV_desired", External: &jetstream.ExternalStream{APIPrefix: "$JS.hub.API", DeliverPrefix: "orbit.desired.sat-b"}, FilterSubject: kv.DesiredSubjectFilter("sat-a")},
		"bind_a_credentials": {Name: "KV_credentials", Domain: kv.HubDomain, Consumer: &jetstream.StreamConsumerSource{
			Name: kv.MirrorConsumerName(kv.BucketCredentials, "sat-a"), DeliverSubject: kv.MirrorDeliverSubject(kv.BucketCredentials, "sat-a")}},
		"credentials_unfiltered": {Name: "KV_credentials", Domain: kv.HubDomain},
		"credentials_filtered_a": {Name: "KV_credentials", Domain: kv.HubDomain, FilterSubject: kv.MirrorSubjectFilter(kv.BucketCredentials, "sat-a")},
		"credentials_own_delivery": {Name: "KV_credentials", External: &jetstream.ExternalStream{APIPrefix: "$JS.hub.API",
			DeliverPrefix: kv.MirrorDeliverSubject(kv.BucketCredentials, "sat-b")}, FilterSubject: kv.MirrorSubjectFilter(kv.BucketCredentials, "sat-a")},
	}
	for name, src := range attempts {
		if _, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "STEAL_" + strings.ToUpper(name), Mirror: src}); err != nil {
			t.Fatalf("B creating local stream %s: %v", name, err)
		}
	}
	// A source (not a mirror) too.
	if _, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "STEAL_SOURCE", Sources: []*jetstream.StreamSource{attempts["filtered_a"]}}); err != nil {
		t.Fatal(err)
	}

	// The hub API in domain hub, as B: reads and admin.
	hubAPI, err := jetstream.NewWithDomain(b.nc, kv.HubDomain)
	if err != nil {
		t.Fatal(err)
	}
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 500*time.Millisecond) }
	c1, done := short()
	if _, err := hubAPI.KeyValue(c1, kv.BucketDesired); err == nil {
		t.Error("B opened the hub's desired bucket")
	}
	done()
	c2, done := short()
	if _, err := hubAPI.CreateOrUpdateConsumer(c2, "KV_desired", jetstream.ConsumerConfig{Name: "steal", FilterSubject: kv.DesiredSubjectFilter("sat-a")}); err == nil {
		t.Error("B created a consumer on the hub")
	}
	done()
	c3, done := short()
	if err := hubAPI.DeleteStream(c3, "KV_desired"); err == nil {
		t.Error("B deleted the hub's desired stream")
	}
	done()
	c4, done := short()
	if _, err := b.nc.RequestWithContext(c4, "$JS.hub.API.DIRECT.GET.KV_desired.$KV.desired.sat-a.kafka.c1", nil); err == nil {
		t.Error("B got an answer to a direct get of A's key")
	}
	done()
	c10, done := short()
	if _, err := hubAPI.KeyValue(c10, kv.BucketCredentials); err == nil {
		t.Error("B opened the hub's credentials bucket")
	}
	done()
	c11, done := short()
	if _, err := b.nc.RequestWithContext(c11, "$JS.hub.API.DIRECT.GET.KV_credentials.$KV.credentials.sat-a.kafka.c1.kk-1", nil); err == nil {
		t.Error("B got an answer to a direct get of A's credential")
	}
	done()
	c12, done := short()
	if _, err := b.nc.RequestWithContext(c12, kv.MirrorConsumerResetSubject(kv.BucketCredentials, "sat-a"), []byte(`{"seq":1}`)); err == nil {
		t.Error("B reset A's credentials consumer")
	}
	done()
	// EVENTS is the mothership's: no consumer, no stream or bucket creation, no reads.
	c6, done := short()
	if _, err := hubAPI.CreateOrUpdateConsumer(c6, kv.StreamEvents, jetstream.ConsumerConfig{Name: "snoop"}); err == nil {
		t.Error("B created a consumer on EVENTS")
	}
	done()
	c7, done := short()
	if _, err := hubAPI.CreateStream(c7, jetstream.StreamConfig{Name: "B_STREAM", Subjects: []string{"b.>"}}); err == nil {
		t.Error("B created a stream on the hub")
	}
	done()
	c8, done := short()
	if _, err := hubAPI.CreateKeyValue(c8, jetstream.KeyValueConfig{Bucket: "b_bucket"}); err == nil {
		t.Error("B created a bucket on the hub")
	}
	done()
	c9, done := short()
	if err := hubAPI.DeleteKeyValue(c9, kv.BucketActual); err == nil {
		t.Error("B deleted the actual bucket")
	}
	done()
	events, err := b.nc.SubscribeSync("events.>")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Unsubscribe()
	if _, err := th.js.Publish(ctx, "events.logical.x", []byte(secret)); err != nil {
		t.Fatal(err)
	}
	if m, err := events.NextMsg(500 * time.Millisecond); err == nil {
		t.Errorf("B received an event: %s", m.Subject)
	}

	// Writes B must not make: A's desired and actual keys, its own desired keys. And one it
	// may: its own actual key.
	for _, subj := range []string{
		"$KV.desired.sat-a.kafka.c1", "$KV.desired.sat-b.kafka.c2", "$KV.actual.sat-a.kafka.c1", "$KV.satellites.sat-a",
		kv.HubPutSubject(kv.BucketDesired, "sat-a.kafka.c1"), kv.HubPutSubject(kv.BucketDesired, "sat-b.kafka.c2"),
		kv.HubPutSubject(kv.BucketActual, "sat-a.kafka.c1"), kv.HubPutSubject(kv.BucketSatellites, "sat-a"),
		kv.HubPutSubject(kv.BucketCredentials, "sat-a.kafka.c1.kk-1"), kv.HubPutSubject(kv.BucketCredentials, "sat-b.kafka.c2.kk-2"),
	} {
		if err := b.nc.Publish(subj, []byte("forged")); err != nil {
			t.Fatal(err)
		}
	}
	c5, done := context.WithTimeout(ctx, 5*time.Second)
	if _, err := b.js.Publish(c5, kv.HubPutSubject(kv.BucketActual, "sat-b.kafka.c2"), []byte("own status")); err != nil {
		t.Fatalf("B could not write its own actual key: %v", err)
	}
	done()

	// Meanwhile the hub keeps changing A's keys; A sees the change, B must not.
	th.put(t, kv.BucketDesired, "sat-a.kafka.c1", secret+"-2")
	testkit.CheckFor(t, 10*time.Second, func() error {
		e, err := aDesired.Get(ctx, "sat-a.kafka.c1")
		if err != nil {
			return err
		}
		if string(e.Value()) != secret+"-2" {
			return fmt.Errorf("A has %q", e.Value())
		}
		return nil
	})
	// A's credentials mirror holds exactly its key; B's exactly its own.
	testkit.CheckFor(t, 10*time.Second, func() error {
		e, err := aCredentials.Get(ctx, "sat-a.kafka.c1.kk-1")
		if err != nil {
			return err
		}
		if string(e.Value()) != secret+"-credential" {
			return fmt.Errorf("A's credential is %q", e.Value())
		}
		e, err = bCredentials.Get(ctx, "sat-b.kafka.c2.kk-2")
		if err != nil {
			return err
		}
		if string(e.Value()) != "b-credential" {
			return fmt.Errorf("B's credential is %q", e.Value())
		}
		return nil
	})
	if _, err := bCredentials.Get(ctx, "sat-a.kafka.c1.kk-1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("B's credentials mirror has A's key (err %v)", err)
	}
	// Not synchronisation: a quiet window of several of B's mirror retry rounds, in which
	// B must get nothing; what it got is checked below.
	time.Sleep(3 * time.Second)

	for name := range attempts {
		assertEmptyStream(t, b.js, "STEAL_"+strings.ToUpper(name))
	}
	assertEmptyStream(t, b.js, "STEAL_SOURCE")
	mu.Lock()
	if len(leaked) > 0 {
		t.Errorf("B's leaf received A's data on %v", leaked)
	}
	mu.Unlock()

	// The hub is unchanged where B had no right, and changed where it had.
	hubGet := func(bucket, key string) (string, error) {
		bkt, err := th.js.KeyValue(ctx, bucket)
		if err != nil {
			return "", err
		}
		e, err := bkt.Get(ctx, key)
		if err != nil {
			return "", err
		}
		return string(e.Value()), nil
	}
	if v, _ := hubGet(kv.BucketDesired, "sat-a.kafka.c1"); v != secret+"-2" {
		t.Errorf("A's desired key on the hub is %q", v)
	}
	if v, _ := hubGet(kv.BucketDesired, "sat-b.kafka.c2"); v != "b" {
		t.Errorf("B rewrote its own desired key: %q", v)
	}
	if _, err := hubGet(kv.BucketActual, "sat-a.kafka.c1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("B wrote A's actual key (err %v)", err)
	}
	if _, err := hubGet(kv.BucketSatellites, "sat-a"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("B wrote A's registration (err %v)", err)
	}
	if v, _ := hubGet(kv.BucketCredentials, "sat-a.kafka.c1.kk-1"); v != secret+"-credential" {
		t.Errorf("A's credential on the hub is %q", v)
	}
	if v, _ := hubGet(kv.BucketCredentials, "sat-b.kafka.c2.kk-2"); v != "b-credential" {
		t.Errorf("B rewrote its own credential: %q", v)
	}
	if v, err := hubGet(kv.BucketActual, "sat-b.kafka.c2"); err != nil || v != "own status" {
		t.Errorf("B's own actual key on the hub: %q, %v", v, err)
	}
	if _, err := th.js.Stream(ctx, "KV_desired"); err != nil {
		t.Errorf("hub's desired stream: %v", err)
	}
	info, err := th.js.Stream(ctx, "KV_desired")
	if err != nil {
		t.Fatal(err)
	}
	if n := info.CachedInfo().State.Consumers; n != 2 {
		t.Errorf("hub's desired stream has %d consumers, want the 2 the mothership made", n)
	}
	names := th.js.StreamNames(ctx)
	var streams []string
	for n := range names.Name() {
		streams = append(streams, n)
	}
	if cred, err := th.js.Stream(ctx, "KV_credentials"); err != nil || cred.CachedInfo().State.Consumers != 2 {
		t.Errorf("hub's credentials stream: want the 2 consumers the mothership made (err %v)", err)
	}
	if len(streams) != 5 { // KV_desired, KV_actual, KV_satellites, KV_credentials, EVENTS
		t.Errorf("hub streams %v", streams)
	}
	if ev, err := th.js.Stream(ctx, kv.StreamEvents); err != nil || ev.CachedInfo().State.Consumers != 0 {
		t.Errorf("EVENTS consumers: %v", err)
	}
}

func assertEmptyStream(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("stream %s received %d messages", name, info.State.Msgs)
	}
}
