package leafnode

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/kv"
)

// TestReaderReadsAndWatchesEveryBucketAndWritesNothing connects with an operator's
// read-only nkey: listing, getting and watching every bucket work; every write and every
// configuration change is refused, each with a positive control by the mothership.
func TestReaderReadsAndWatchesEveryBucketAndWritesNothing(t *testing.T) {
	mkp, mpub := newUserKey(t)
	rkp, rpub := newUserKey(t)
	hub, err := StartHub(HubConfig{StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1", MothershipNKey: mpub, Readers: []string{rpub}, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	mjs := jsFor(t, hub, mkp)
	if err := kv.EnsureHub(ctx, mjs, 1); err != nil {
		t.Fatal(err)
	}
	buckets := []string{kv.BucketDesired, kv.BucketActual, kv.BucketSatellites}
	for _, b := range buckets {
		bkt, err := mjs.KeyValue(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bkt.PutString(ctx, "s1.kafka.c1", "v-"+b); err != nil {
			t.Fatalf("mothership put %s: %v", b, err)
		}
	}

	rjs := readerJS(t, hub, rkp)
	var names []string
	for n := range rjs.KeyValueStoreNames(ctx).Name() {
		names = append(names, n)
	}
	if len(names) < len(buckets) {
		t.Fatalf("reader lists buckets %v, want at least %v", names, buckets)
	}
	for _, b := range buckets {
		bkt, err := rjs.KeyValue(ctx, b)
		if err != nil {
			t.Fatalf("reader opens %s: %v", b, err)
		}
		e, err := bkt.Get(ctx, "s1.kafka.c1")
		if err != nil || string(e.Value()) != "v-"+b {
			t.Fatalf("reader gets %s: %v", b, err)
		}
		w, err := bkt.WatchAll(ctx)
		if err != nil {
			t.Fatalf("reader watches %s: %v", b, err)
		}
		select {
		case e := <-w.Updates():
			if e == nil || string(e.Value()) != "v-"+b {
				t.Fatalf("reader's watch of %s: %v", b, e)
			}
		case <-ctx.Done():
			t.Fatalf("reader's watch of %s got nothing", b)
		}
		_ = w.Stop()
		// nats.go's legacy KeyValue API watches too.
		ljs, err := mustConnect(t, hub, rkp).JetStream(nats.APIPrefix(ReaderAPIPrefix))
		if err != nil {
			t.Fatal(err)
		}
		lkv, err := ljs.KeyValue(b)
		if err != nil {
			t.Fatalf("reader opens %s (legacy API): %v", b, err)
		}
		lw, err := lkv.WatchAll(nats.Context(ctx))
		if err != nil {
			t.Fatalf("reader watches %s (legacy API): %v", b, err)
		}
		select {
		case e := <-lw.Updates():
			if e == nil || string(e.Value()) != "v-"+b {
				t.Fatalf("reader's legacy watch of %s: %v", b, e)
			}
		case <-ctx.Done():
			t.Fatalf("reader's legacy watch of %s got nothing", b)
		}
		_ = lw.Stop()

		// refused: the gateway answers, naming why (not a timeout).
		refused := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("reader could %s on %s", what, b)
			} else if !strings.Contains(err.Error(), "orbit: ") {
				t.Errorf("reader %s on %s: the gateway did not refuse it: %v", what, b, err)
			}
		}
		short := func() context.Context {
			c, cancel := context.WithTimeout(ctx, time.Second)
			t.Cleanup(cancel)
			return c
		}
		_, err = bkt.PutString(short(), "s1.kafka.c2", "x")
		refused("put", err)
		refused("delete", bkt.Delete(short(), "s1.kafka.c1"))
		refused("purge", bkt.Purge(short(), "s1.kafka.c1"))
		_, err = rjs.UpdateKeyValue(short(), jetstream.KeyValueConfig{Bucket: b, History: 1})
		refused("update the bucket", err)
		refused("delete the bucket", rjs.DeleteKeyValue(short(), b))
		_, err = rjs.CreateStream(short(), jetstream.StreamConfig{Name: "X_" + b, Subjects: []string{"x." + b}})
		refused("create a stream", err)
		s, err := rjs.Stream(ctx, kv.StreamName(b))
		if err != nil {
			t.Fatalf("reader stream info %s: %v", b, err)
		}
		refused("purge the stream", s.Purge(short()))
		refused("delete a message", s.DeleteMsg(short(), 1))
		_, err = s.CreateConsumer(short(), jetstream.ConsumerConfig{Durable: "durable-" + b, FilterSubject: "$KV." + b + ".>"})
		refused("create a durable consumer", err)
		_, err = s.CreateConsumer(short(), jetstream.ConsumerConfig{Name: "named-" + b, InactiveThreshold: 30 * 24 * time.Hour})
		refused("create a consumer that outlives its reader by a month", err)
		_, err = s.CreateConsumer(short(), jetstream.ConsumerConfig{Name: "push-" + b, DeliverSubject: "$KV." + b + ".s1.kafka.c4"})
		refused("create a consumer delivering into a bucket", err)
		ms, err := mjs.Stream(ctx, kv.StreamName(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"durable-" + b, "named-" + b, "push-" + b} {
			if _, err := ms.Consumer(ctx, name); !errors.Is(err, jetstream.ErrConsumerNotFound) {
				t.Errorf("consumer %s exists after the reader's refused creation: %v", name, err)
			}
		}
		// Straight to $JS.API, around the gateway: the server refuses the publish.
		if _, err = jsFor(t, hub, rkp).CreateStream(short(), jetstream.StreamConfig{Name: "Y_" + b, Subjects: []string{"y." + b}}); err == nil {
			t.Errorf("reader created a stream through $JS.API")
		}
		// The raw $KV subject: a publish is refused by the server (a permissions
		// violation reaches the connection's async error handler, so check with a request).
		nc := mustConnect(t, hub, rkp)
		if _, err := nc.Request("$KV."+b+".s1.kafka.c3", []byte("x"), time.Second); err == nil {
			t.Errorf("reader published to $KV.%s", b)
		}
		e, err = bkt.Get(ctx, "s1.kafka.c1")
		if err != nil || string(e.Value()) != "v-"+b {
			t.Fatalf("after the refusals, %s changed: %v", b, err)
		}
		if _, err := bkt.Get(ctx, "s1.kafka.c3"); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("$KV publish reached %s: %v", b, err)
		}
	}
	// Legacy durable consumer creation is refused, on both prefixes; the mothership's
	// (positive control) works.
	nc := mustConnect(t, hub, rkp)
	api := "CONSUMER.DURABLE.CREATE." + kv.StreamName(kv.BucketDesired) + ".d1"
	body := []byte(`{"stream_name":"` + kv.StreamName(kv.BucketDesired) + `","config":{"durable_name":"d1","ack_policy":"explicit"}}`)
	for _, prefix := range []string{"$JS.API.", ReaderAPIPrefix + "."} {
		if m, err := nc.Request(prefix+api, body, time.Second); err == nil && !strings.Contains(string(m.Data), `"error"`) {
			t.Errorf("reader created a durable consumer through %s: %s", prefix, m.Data)
		}
	}
	// A reply subject other than an inbox is not answered: the answer would be a write.
	if _, err := nc.Request(ReaderAPIPrefix+".INFO", nil, time.Second); err != nil {
		t.Fatalf("reader's account info: %v", err)
	}
	if err := nc.PublishRequest(ReaderAPIPrefix+".STREAM.INFO."+kv.StreamName(kv.BucketActual), "$KV."+kv.BucketActual+".s1.kafka.c5", nil); err != nil {
		t.Fatal(err)
	}
	mnc := mustConnect(t, hub, mkp)
	if m, err := mnc.Request("$JS.API."+api, body, 5*time.Second); err != nil || strings.Contains(string(m.Data), `"error"`) {
		t.Errorf("mothership could not create a durable consumer: %v", err)
	}
	abkt, err := mjs.KeyValue(ctx, kv.BucketActual)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := abkt.Get(ctx, "s1.kafka.c5"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("an answer to a reader's request was written to a bucket: %v %v", e, err)
	}
}

// readerJS is a reader's JetStream context, through the reader gateway's prefix.
func readerJS(t *testing.T, hub *Hub, kp nkeys.KeyPair) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.NewWithAPIPrefix(mustConnect(t, hub, kp), ReaderAPIPrefix)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func mustConnect(t *testing.T, hub *Hub, kp nkeys.KeyPair) *nats.Conn {
	t.Helper()
	nc, err := hub.Connect(kp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func jsFor(t *testing.T, hub *Hub, kp nkeys.KeyPair) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(mustConnect(t, hub, kp))
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestReaderCannotChangeASatellitesMirrorConsumer: the consumer that feeds a satellite's
// mirror is created through the same CONSUMER.CREATE subject as a watch's, by name; a
// reader's attempt to update one (here, to another satellite's keys) is refused and leaves
// it as it was, for satellites listed at start and for one added later. A watch still works.
func TestReaderCannotChangeASatellitesMirrorConsumer(t *testing.T) {
	mkp, mpub := newUserKey(t)
	rkp, rpub := newUserKey(t)
	_, s1 := newUserKey(t)
	_, s2 := newUserKey(t)
	hub, err := StartHub(HubConfig{StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1", MothershipNKey: mpub, Readers: []string{rpub},
		Satellites: []SatelliteUser{{Name: "s1", NKey: s1}}, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mjs := jsFor(t, hub, mkp)
	if err := kv.EnsureHub(ctx, mjs, 1); err != nil {
		t.Fatal(err)
	}
	rjs := readerJS(t, hub, rkp)
	check := func(sat string) {
		t.Helper()
		stream := kv.StreamName(kv.BucketDesired)
		if _, err := mjs.CreateOrUpdateConsumer(ctx, stream, kv.MirrorConsumer(kv.BucketDesired, sat)); err != nil {
			t.Fatalf("mothership creates %s's consumer: %v", sat, err)
		}
		hijack := kv.MirrorConsumer(kv.BucketDesired, sat)
		hijack.FilterSubject = kv.MirrorSubjectFilter(kv.BucketDesired, "other")
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := rjs.CreateOrUpdateConsumer(sctx, stream, hijack)
		scancel()
		if err == nil {
			t.Errorf("reader updated %s's mirror consumer", sat)
		}
		// The same without a durable name, delivering to an inbox: an ephemeral of the mirror
		// consumer's name, which the gateway passes on as a create (never an update).
		hijack.Durable, hijack.DeliverSubject = "", "_INBOX.hijack"
		sctx, scancel = context.WithTimeout(ctx, 2*time.Second)
		_, err = rjs.CreateOrUpdateConsumer(sctx, stream, hijack)
		scancel()
		if err == nil {
			t.Errorf("reader updated %s's mirror consumer by name", sat)
		}
		st, err := mjs.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		list := st.ListConsumers(ctx)
		for info := range list.Info() {
			if info.Name == kv.DesiredConsumerName(sat) {
				found = true
				if got := info.Config.FilterSubject; got != kv.MirrorSubjectFilter(kv.BucketDesired, sat) {
					t.Errorf("%s's mirror consumer filters %s now", sat, got)
				}
				if got := info.Config.DeliverSubject; got != kv.MirrorDeliverSubject(kv.BucketDesired, sat) {
					t.Errorf("%s's mirror consumer delivers to %s now", sat, got)
				}
			}
		}
		if list.Err() != nil || !found {
			t.Fatalf("%s's mirror consumer: found %v, %v", sat, found, list.Err())
		}
	}
	check("s1")
	if err := hub.SetSatellites([]SatelliteUser{{Name: "s1", NKey: s1}, {Name: "s2", NKey: s2}}); err != nil {
		t.Fatal(err)
	}
	check("s2")

	// The reader's watches, on ordered consumers of its own, still work.
	bkt, err := rjs.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		t.Fatal(err)
	}
	w, err := bkt.WatchAll(ctx)
	if err != nil {
		t.Fatalf("reader watches desired: %v", err)
	}
	defer w.Stop()
	select {
	case e := <-w.Updates():
		if e != nil {
			t.Fatalf("empty bucket, got %s", e.Key())
		}
	case <-ctx.Done():
		t.Fatal("the reader's watch never said it was caught up")
	}
}
