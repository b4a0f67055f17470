package satellite

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestRESTUsersSecretHoldsExactlyTheLiveKeys gives a ksqlDB and a Connect cluster REST
// keys through a real credentials bucket: each rest-users Secret holds exactly the lines of
// the keys in the mirror (ksqlDB: "id: MD5:<hex>,user"; Connect: "id: secret", which its
// login module compares whole, after a user no request can name, without which it would
// admit every request), in id order; a value sealed by another key, or holding
// another product's credential, is left out; an edited Secret is rewritten; a key gone from
// the mirror (revoked) loses its line. The workers roll when the set of users changes, not
// when drift is repaired.
func TestRESTUsersSecretHoldsExactlyTheLiveKeys(t *testing.T) {
	cp := newCredentialParts(t)
	p, b, cs, js, mother, own, motherPub := cp.parts, cp.b, cp.cs, cp.js, cp.mother, cp.own, cp.motherPub
	ctx := context.Background()
	creds, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: kv.BucketCredentials})
	if err != nil {
		t.Fatal(err)
	}
	p.op.credentials, p.op.curve, p.op.sender = creds, own, motherPub

	put := func(from nkeys.KeyPair, product kv.Product, cluster string, c *kv.KafkaCredential) string {
		t.Helper()
		key, data := cp.seal(t, from, product, cluster, c)
		if _, err := creds.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
		return key
	}
	rest := func(product kv.Product, id, secret string) *kv.KafkaCredential {
		c, err := kv.NewRESTCredential(id, secret, kv.RESTMechanism(product))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	forger, _ := nkeys.CreateCurveKeys()

	for _, tc := range []struct {
		product kv.Product
		id      string
		// line is the users-file line of key id with secret.
		line func(id, secret string) string
	}{
		{kv.ProductKsqlDB, "pksqlc-1", func(id, secret string) string {
			return id + ": " + rest(kv.ProductKsqlDB, id, secret).Password + ",user\n"
		}},
		{kv.ProductConnect, "pconnc-1", func(id, secret string) string { return id + ": " + secret + "\n" }},
	} {
		// Connect's file always starts with a user no request can name: with none at all,
		// its login module would admit every request.
		head := ""
		if tc.product == kv.ProductConnect {
			head = connectRefuseAll
		}
		psc := &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: tc.id, Satellite: "sat", Product: tc.product, Generation: 1,
			Spec: kv.PSCSpec{Version: "3.9.0", Replicas: 2, Storage: kv.Storage{SizeGiB: 10}, Kafka: &kv.KafkaRef{ID: "pkc-1"}}}
		ns := Namespace(tc.id)
		users := func() string { return string(getSecret(t, cs, ns, restUsersSecret).Data[restUsersFile]) }
		hash := func() string {
			return getSet(t, cs, ns, string(tc.product)).Spec.Template.Annotations[annotationRestartHash]
		}
		reconcile := func() {
			t.Helper()
			if err := p.op.reconcile(ctx, tc.id); err != nil {
				t.Fatal(err)
			}
		}
		converge(t, p, b, psc)
		if got := users(); got != head {
			t.Fatalf("%s: users before any key: %q", tc.product, got)
		}
		empty := hash()

		keyB := put(mother, tc.product, tc.id, rest(tc.product, "rk-b", "secretb"))
		put(mother, tc.product, tc.id, rest(tc.product, "rk-a", "secreta"))
		// Not admitted: sealed by a key other than the control plane's; a SCRAM credential
		// under a REST cluster's key; a REST credential of the other product.
		put(forger, tc.product, tc.id, rest(tc.product, "rk-forged", "x"))
		scram, _ := kv.NewKafkaCredential("rk-scram", "x")
		put(mother, tc.product, tc.id, scram)
		other := kv.ProductConnect
		if tc.product == kv.ProductConnect {
			other = kv.ProductKsqlDB
		}
		put(mother, tc.product, tc.id, rest(other, "rk-other", "x"))
		reconcile()
		want := head + tc.line("rk-a", "secreta") + tc.line("rk-b", "secretb")
		if got := users(); got != want {
			t.Fatalf("%s users file:\n%s\nwant:\n%s", tc.product, got, want)
		}
		withTwo := hash()
		if withTwo == empty {
			t.Fatalf("%s: the workers do not roll for new users", tc.product)
		}

		// Drift: someone edits the Secret; the next pass rewrites it, without a roll.
		s := getSecret(t, cs, ns, restUsersSecret)
		s.Data[restUsersFile] = []byte("intruder: pw,user\n" + tc.line("rk-a", "secreta"))
		s.Data["extra"] = []byte("x")
		if _, err := cs.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, cacheCatchUp, func() error {
			reconcile()
			if got := getSecret(t, cs, ns, restUsersSecret); string(got.Data[restUsersFile]) != want || len(got.Data) != 1 {
				return fmt.Errorf("%s: drift not repaired: %q", tc.product, got.Data)
			}
			return nil
		})
		if hash() != withTwo {
			t.Fatalf("%s: repairing the Secret rolled the workers", tc.product)
		}

		// Revoked: gone from the mirror, gone from the file.
		if err := creds.Delete(ctx, keyB); err != nil {
			t.Fatal(err)
		}
		reconcile()
		if got, want := users(), head+tc.line("rk-a", "secreta"); got != want {
			t.Fatalf("%s after the revoke:\n%s\nwant:\n%s", tc.product, got, want)
		}
		if h := hash(); h == withTwo || h == empty {
			t.Fatalf("%s: the workers do not roll when a user goes", tc.product)
		}
	}
}

// TestRESTUsersWithoutCredentials: a satellite with no credentials to give still keeps the
// rest-users Secrets holding no user a request can name. A Connect file left empty (as
// satellites wrote it before REST keys, which Connect reads as "admit every request") is
// rewritten, and Connect's workers hash differently from before, so that workers started
// on the empty file restart; ksqlDB's workers hash as before (an empty file refuses all).
func TestRESTUsersWithoutCredentials(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	converge(t, p, b, testPSC(1, 3))
	ctx := context.Background()
	for _, tc := range []struct {
		product  kv.Product
		id, file string
		want     string
		rolls    bool
	}{
		{kv.ProductKsqlDB, "pksqlc-1", "ksql-server.properties", "", false},
		{kv.ProductConnect, "pconnc-1", "connect-distributed.properties", connectRefuseAll, true},
	} {
		psc := &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: tc.id, Satellite: "sat", Product: tc.product, Generation: 1,
			Spec: kv.PSCSpec{Version: "3.9.0", Replicas: 2, Storage: kv.Storage{SizeGiB: 10}, Kafka: &kv.KafkaRef{ID: "pkc-1"}}}
		converge(t, p, b, psc)
		ns := Namespace(tc.id)
		s := getSecret(t, cs, ns, restUsersSecret)
		if got := string(s.Data[restUsersFile]); got != tc.want {
			t.Fatalf("%s: users file %q, want %q", tc.product, got, tc.want)
		}
		s.Data[restUsersFile] = []byte{}
		if _, err := cs.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		testkit.CheckFor(t, cacheCatchUp, func() error {
			if err := p.op.reconcile(ctx, tc.id); err != nil {
				return err
			}
			if got := string(getSecret(t, cs, ns, restUsersSecret).Data[restUsersFile]); got != tc.want {
				return fmt.Errorf("%s: users file %q, want %q", tc.product, got, tc.want)
			}
			return nil
		})
		cm := getConfig(t, cs, ns, string(tc.product)+"-config")
		sts := getSet(t, cs, ns, string(tc.product))
		before := hashString(sts.Spec.Template.Spec.Containers[0].Image, cm[tc.file], cm[restJAASFile])
		if rolls := sts.Spec.Template.Annotations[annotationRestartHash] != before; rolls != tc.rolls {
			t.Errorf("%s: workers roll for the users file: %v, want %v", tc.product, rolls, tc.rolls)
		}
	}
}

// credentialParts are a satellite's parts with a Kafka cluster (pkc-1) converged, a
// JetStream server for credentials buckets, and the curve keys of the control plane
// (mother) and of the satellite (own).
type credentialParts struct {
	parts             *parts
	cs                *fake.Clientset
	b                 jetstream.KeyValue
	js                jetstream.JetStream
	mother, own       nkeys.KeyPair
	motherPub, ownPub string
}

func newCredentialParts(t *testing.T) *credentialParts {
	t.Helper()
	cp := &credentialParts{cs: fake.NewClientset(), b: testBucket(t)}
	cp.parts = newParts(t, cp.cs, simkube.NewDynamic(CustomResources), cp.b)
	converge(t, cp.parts, cp.b, testPSC(1, 3))
	_, cp.js = testkit.StartJetStream(t)
	cp.mother, _ = nkeys.CreateCurveKeys()
	cp.motherPub, _ = cp.mother.PublicKey()
	cp.own, _ = nkeys.CreateCurveKeys()
	cp.ownPub, _ = cp.own.PublicKey()
	return cp
}

// seal returns the credentials bucket's key and value of c for cluster, sealed by from to
// the satellite.
func (cp *credentialParts) seal(t *testing.T, from nkeys.KeyPair, product kv.Product, cluster string, c *kv.KafkaCredential) (string, []byte) {
	t.Helper()
	sealed, err := c.Seal(from, cp.ownPub)
	if err != nil {
		t.Fatal(err)
	}
	v := &kv.SealedCredential{SchemaVersion: kv.SchemaVersion, Satellite: "sat", Product: product, Cluster: cluster, KeyID: c.User,
		LogicalCluster: "l" + cluster[1:], Sender: cp.motherPub, Recipient: cp.ownPub, Sealed: sealed}
	data, err := kv.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return v.Key().String(), data
}
