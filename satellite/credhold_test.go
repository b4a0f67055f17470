package satellite

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestCredentialsRebuiltFromANewHubDeleteNothingUntilComplete: a ksqlDB cluster's REST
// users come from a real JetStream mirror of an old hub's credentials (rk-a, rk-b). The
// mothership is restored onto a new hub, where rk-b was revoked and rk-c issued: the
// satellite's mirror starts over from the new hub, empty at first, then partial. All that
// time the users file keeps rk-a and rk-b — no user missing from the rebuilt mirror goes —
// while a key the new hub holds (rk-c) arrives at once; a satellite restarted meanwhile
// holds again (the rebuild's marker file). The rebuild stays incomplete while
// the hold has not passed, even with the mirror caught up; once it has passed and the
// mirror is caught up with the new hub, the revoked rk-b goes.
func TestCredentialsRebuiltFromANewHubDeleteNothingUntilComplete(t *testing.T) {
	cp := newCredentialParts(t)
	p, b, cs, js, mother, own, motherPub := cp.parts, cp.b, cp.cs, cp.js, cp.mother, cp.own, cp.motherPub
	ctx := context.Background()
	// Two hubs' credentials buckets; the satellite's copy is a real mirror of one of them.
	hubs := map[string]jetstream.KeyValue{}
	for _, name := range []string{"hubold", "hubnew"} {
		h, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name})
		if err != nil {
			t.Fatal(err)
		}
		hubs[name] = h
	}
	mirror := func(hub string) jetstream.KeyValue {
		t.Helper()
		// The satellite's mirror keeps the hub bucket's subjects (kv.Mirror); here the
		// hubs' buckets share a server, so the mirror maps their subjects onto its own.
		cfg := kv.Mirror(kv.BucketCredentials, "sat")
		cfg.Mirror = &jetstream.StreamSource{Name: kv.StreamName(hub), SubjectTransforms: []jetstream.SubjectTransformConfig{
			{Source: "$KV." + hub + ".>", Destination: "$KV." + kv.BucketCredentials + ".>"}}}
		cfg.Storage = jetstream.MemoryStorage
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		m, err := js.KeyValue(ctx, kv.BucketCredentials)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	const id = "pksqlc-1"
	put := func(hub, user, secret string) string {
		t.Helper()
		c, err := kv.NewRESTCredential(user, secret, kv.RESTMechanism(kv.ProductKsqlDB))
		if err != nil {
			t.Fatal(err)
		}
		key, data := cp.seal(t, mother, kv.ProductKsqlDB, id, c)
		if _, err := hubs[hub].Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
		return key
	}
	line := func(user, secret string) string {
		c, err := kv.NewRESTCredential(user, secret, kv.RESTMechanism(kv.ProductKsqlDB))
		if err != nil {
			t.Fatal(err)
		}
		return user + ": " + c.Password + ",user\n"
	}
	var (
		mu    sync.Mutex
		clock = time.Now()
	)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	marker := filepath.Join(t.TempDir(), "credentials-rebuild")
	// use points the operator at the satellite's mirror of hub, as remirror does.
	use := func(hub string) *credentialHold {
		m := mirror(hub)
		h := newCredentialHold(time.Minute, m, marker, now, testkit.Logger())
		p.op.credentials, p.op.curve, p.op.sender, p.op.credentialHold = m, own, motherPub, h
		return h
	}
	ns := Namespace(id)
	users := func() string { return string(getSecret(t, cs, ns, restUsersSecret).Data[restUsersFile]) }
	// holds checks that the users file becomes want and stays so.
	holds := func(what, want string) {
		t.Helper()
		testkit.CheckFor(t, cacheCatchUp, func() error {
			if err := p.op.reconcile(ctx, id); err != nil {
				return err
			}
			if got := users(); got != want {
				return fmt.Errorf("%s: users file\n%s\nwant\n%s", what, got, want)
			}
			return nil
		})
		for range 3 { // the informer cache has caught up: more passes change nothing
			if err := p.op.reconcile(ctx, id); err != nil {
				t.Fatal(err)
			}
			if got := users(); got != want {
				t.Fatalf("%s: users file changed to\n%s\nwant\n%s", what, got, want)
			}
		}
	}

	put("hubold", "rk-a", "secreta")
	put("hubold", "rk-b", "secretb")
	use("hubold")
	psc := &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: id, Satellite: "sat", Product: kv.ProductKsqlDB, Generation: 1,
		Spec: kv.PSCSpec{Version: "3.9.0", Replicas: 2, Storage: kv.Storage{SizeGiB: 10}, Kafka: &kv.KafkaRef{ID: "pkc-1"}}}
	converge(t, p, b, psc)
	both := line("rk-a", "secreta") + line("rk-b", "secretb")
	holds("on the old hub", both)

	// The new hub: the satellite's mirror starts over, empty (the restored mothership has
	// not republished yet).
	if err := js.DeleteStream(ctx, kv.StreamName(kv.BucketCredentials)); err != nil {
		t.Fatal(err)
	}
	h := use("hubnew")
	h.start()
	holds("rebuilding, the mirror empty", both)
	// A satellite restarted during the rebuild holds again.
	h = newCredentialHold(time.Minute, p.op.credentials, marker, now, testkit.Logger())
	p.op.credentialHold = h
	if !h.rebuilding() {
		t.Fatal("a restart during the rebuild forgot it")
	}

	// Partial: rk-c, issued on the restored mothership, comes first; rk-a not yet.
	put("hubnew", "rk-c", "secretc")
	holds("rebuilding, the mirror partial", both+line("rk-c", "secretc"))
	put("hubnew", "rk-a", "secreta")
	// Caught up with the new hub but within the hold: still nothing goes.
	testkit.CheckFor(t, 5*time.Second, func() error {
		if !h.caughtUp(ctx) {
			return fmt.Errorf("the mirror has not caught up with the new hub")
		}
		return nil
	})
	if h.complete(ctx) {
		t.Fatal("the rebuild counts as complete before the hold has passed")
	}
	holds("rebuilding, caught up within the hold", both+line("rk-c", "secretc"))

	// The hold passed, the mirror caught up: complete; rk-b, revoked, goes.
	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	holds("rebuilt", line("rk-a", "secreta")+line("rk-c", "secretc"))
	if h.rebuilding() {
		t.Fatal("the rebuild did not end")
	}
	if h = newCredentialHold(time.Minute, p.op.credentials, marker, now, testkit.Logger()); h.rebuilding() {
		t.Fatal("a restart after the rebuild holds again")
	}
}

// TestKafkaKeysRebuiltFromANewHubDeleteNothingUntilComplete: the same for a Kafka
// cluster's SCRAM users and their ACLs, read back from a kfake cluster over the Kafka
// protocol. While the rebuilt mirror is not complete, keys missing from it (all of them,
// then all but a new one) keep their users and ACLs, and a new key gets its own; once
// complete, the key the new hub lacks (revoked) loses both.
func TestKafkaKeysRebuiltFromANewHubDeleteNothingUntilComplete(t *testing.T) {
	cp := newCredentialParts(t)
	p := cp.parts
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	creds, err := cp.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: kv.BucketCredentials})
	if err != nil {
		t.Fatal(err)
	}
	p.op.credentials, p.op.curve, p.op.sender = creds, cp.own, cp.motherPub
	var o *PSCObject
	testkit.CheckFor(t, cacheCatchUp, func() error { o, err = p.kube.getPSC("pkc-1"); return err })
	keys := map[string]string{}
	put := func(user string) {
		t.Helper()
		kc, err := kv.NewKafkaCredential(user, "secret-"+user)
		if err != nil {
			t.Fatal(err)
		}
		key, data := cp.seal(t, cp.mother, kv.ProductKafka, "pkc-1", kc)
		if _, err := creds.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
		keys[user] = key
	}
	del := func(user string) {
		t.Helper()
		if err := creds.Delete(ctx, keys[user]); err != nil {
			t.Fatal(err)
		}
	}
	// apply reconciles the keys and checks which users, and users with ACLs, Kafka holds.
	apply := func(what string, users ...string) {
		t.Helper()
		want, err := p.op.openCredentials(ctx, kv.ProductKafka, "pkc-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.op.applyKafkaKeys(ctx, adm, o, want); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		described, err := adm.DescribeUserSCRAMs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acls, err := describeAllACLs(ctx, adm)
		if err != nil {
			t.Fatal(err)
		}
		withACLs := map[string]bool{}
		for _, a := range acls {
			withACLs[strings.TrimPrefix(a.Principal, "User:")] = true
		}
		got := slices.Sorted(maps.Keys(described))
		gotACLs := slices.Sorted(maps.Keys(withACLs))
		if !slices.Equal(got, users) || !slices.Equal(gotACLs, users) {
			t.Fatalf("%s: SCRAM users %v, users with ACLs %v; want %v", what, got, gotACLs, users)
		}
	}

	put("kk-a")
	put("kk-b")
	apply("on the old hub", "kk-a", "kk-b")

	caughtUp := false
	h := &credentialHold{hold: time.Minute, now: time.Now, caughtUp: func(context.Context) bool { return caughtUp }}
	p.op.credentialHold = h
	h.start()
	del("kk-a") // the rebuilt mirror, empty
	del("kk-b")
	apply("rebuilding, the mirror empty", "kk-a", "kk-b")
	put("kk-c") // issued on the restored mothership
	apply("rebuilding, the mirror partial", "kk-a", "kk-b", "kk-c")
	put("kk-a")
	caughtUp = true // the hold has not passed
	apply("rebuilding, caught up within the hold", "kk-a", "kk-b", "kk-c")
	h.now = func() time.Time { return time.Now().Add(time.Minute) }
	apply("rebuilt", "kk-a", "kk-c")
	if h.rebuilding() {
		t.Fatal("the rebuild did not end")
	}
}
