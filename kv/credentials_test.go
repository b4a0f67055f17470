package kv

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

func curve(t *testing.T) (nkeys.KeyPair, string) {
	t.Helper()
	kp, err := nkeys.CreateCurveKeys()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return kp, pub
}

// TestSealedCredentialOpensOnlyForItsSatellite seals a credential from the mothership's
// curve key to one satellite's: that satellite opens it; another satellite, the mothership
// posing as the recipient, and a tampered box do not.
func TestSealedCredentialOpensOnlyForItsSatellite(t *testing.T) {
	mother, motherPub := curve(t)
	sat, satPub := curve(t)
	other, _ := curve(t)
	c, err := NewKafkaCredential("kk-abc", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal(mother, satPub)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, c.SaltedPassword) || bytes.Contains(sealed, []byte("the-secret")) {
		t.Fatal("the sealed form carries the credential in the clear")
	}
	got, err := OpenKafkaCredential(sealed, sat, motherPub)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "kk-abc" || !bytes.Equal(got.SaltedPassword, c.SaltedPassword) || !bytes.Equal(got.Salt, c.Salt) {
		t.Fatalf("opened %v, want %v", got, c)
	}
	if _, err := OpenKafkaCredential(sealed, other, motherPub); !errors.Is(err, ErrSealed) {
		t.Fatalf("another satellite's key opened it: %v", err)
	}
	otherPub, _ := other.PublicKey()
	if _, err := OpenKafkaCredential(sealed, sat, otherPub); !errors.Is(err, ErrSealed) {
		t.Fatalf("opened with the wrong sender: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := OpenKafkaCredential(tampered, sat, motherPub); !errors.Is(err, ErrSealed) {
		t.Fatalf("a tampered box opened: %v", err)
	}
	if s := c.String(); strings.Contains(s, string(c.SaltedPassword)) {
		t.Fatal("String leaks the salted password")
	}
}

// TestKafkaCredentialDerivation checks the SCRAM-SHA-512 derivation: a fresh salt each time,
// 4096 iterations, a 64-byte salted password that depends on the secret.
func TestKafkaCredentialDerivation(t *testing.T) {
	a, _ := NewKafkaCredential("kk-a", "s")
	b, _ := NewKafkaCredential("kk-a", "s")
	if bytes.Equal(a.Salt, b.Salt) || bytes.Equal(a.SaltedPassword, b.SaltedPassword) {
		t.Fatal("two derivations share a salt")
	}
	if a.Iterations != 4096 || len(a.SaltedPassword) != 64 {
		t.Fatalf("derived %d iterations, %d bytes", a.Iterations, len(a.SaltedPassword))
	}
	for _, bad := range []KafkaCredential{
		{SchemaVersion: 1, User: "a.b", Mechanism: MechanismSCRAMSHA512, Iterations: 4096, Salt: a.Salt, SaltedPassword: a.SaltedPassword},
		{SchemaVersion: 1, User: "a", Mechanism: "PLAIN", Iterations: 4096, Salt: a.Salt, SaltedPassword: a.SaltedPassword},
		{SchemaVersion: 1, User: "a", Mechanism: MechanismSCRAMSHA512, Iterations: 8192, Salt: a.Salt, SaltedPassword: a.SaltedPassword},
		{SchemaVersion: 1, User: "a", Mechanism: MechanismSCRAMSHA512, Iterations: 4096, Salt: []byte("x"), SaltedPassword: a.SaltedPassword},
		{SchemaVersion: 1, User: "a", Mechanism: MechanismSCRAMSHA512, Iterations: 4096, Salt: a.Salt, SaltedPassword: []byte("x")},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v", &bad, err)
		}
	}
}

// TestSealedCredentialValue round-trips the bucket value and opens it only with the
// recipient satellite's key; the value and its key are validated strictly.
func TestSealedCredentialValue(t *testing.T) {
	mother, motherPub := curve(t)
	sat, satPub := curve(t)
	other, _ := curve(t)
	c, _ := NewKafkaCredential("kk-1", "s")
	sealed, err := c.Seal(mother, satPub)
	if err != nil {
		t.Fatal(err)
	}
	v := &SealedCredential{SchemaVersion: SchemaVersion, Satellite: "eu", Cluster: "pkc-1", KeyID: "kk-1", LogicalCluster: "lkc-1",
		Sender: motherPub, Recipient: satPub, Sealed: sealed}
	data, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSealedCredential(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.Open(sat, motherPub); err != nil {
		t.Fatal(err)
	}
	if _, err := got.Open(other, motherPub); !errors.Is(err, ErrSealed) {
		t.Fatalf("another satellite opened it: %v", err)
	}
	// Whoever can write the bucket but does not hold the control plane's key: a credential
	// sealed to the satellite with another curve key, naming itself or the mothership as
	// sender, does not open.
	forger, forgerPub := curve(t)
	forged, err := c.Seal(forger, satPub)
	if err != nil {
		t.Fatal(err)
	}
	for _, claimed := range []string{forgerPub, motherPub} {
		f := *got
		f.Sender, f.Sealed = claimed, forged
		if _, err := f.Open(sat, motherPub); !errors.Is(err, ErrSealed) {
			t.Errorf("a credential sealed by another key (claiming %s) opened: %v", claimed, err)
		}
	}
	got.KeyID = "kk-2"
	if _, err := got.Open(sat, motherPub); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a credential under another key's name opened: %v", err)
	}
	if k, err := ParseCredentialKey(v.Key().String()); err != nil || k != v.Key() {
		t.Fatalf("key %q: %v %v", v.Key(), k, err)
	}
	for _, bad := range []string{"eu.kafka.pkc-1", "eu.spark.pkc-1.kk-1", "eu.kafka.pkc-1.KK", "eu.kafka.pkc-1.kk-1.x"} {
		if _, err := ParseCredentialKey(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	for _, bad := range []string{
		`{"schemaVersion":1,"satellite":"eu","cluster":"pkc-1","keyId":"kk-1","logicalCluster":"lkc-1","sender":"` + motherPub + `","recipient":"` + satPub + `","sealed":"AA==","secret":"x"}`,
		`{"schemaVersion":2}`,
		`{"schemaVersion":1,"satellite":"eu","cluster":"pkc-1","keyId":"kk-1","logicalCluster":"lkc-1","sender":"UABC","recipient":"` + satPub + `","sealed":"AA=="}`,
		`{"schemaVersion":1,"satellite":"eu","cluster":"pkc-1","keyId":"kk-1","logicalCluster":"lkc-1","sender":"` + motherPub + `","recipient":"` + satPub + `","sealed":""}`,
	} {
		if _, err := DecodeSealedCredential([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("decoded %s: %v", bad, err)
		}
	}
}

// TestRESTCredentials derives ksqlDB's and Connect's REST credentials: Jetty's MD5: field of
// the secret, and Connect's plain secret; both are kept out of String. A malformed one is
// refused, and a sealed value opens only as the credential of its cluster's product.
func TestRESTCredentials(t *testing.T) {
	md, err := NewRESTCredential("rk-a", "s3cret", RESTMechanism(ProductKsqlDB))
	if err != nil || md.Password != "MD5:33e1b232a4e6fa0028a6670753749a17" || md.Mechanism != MechanismRESTMD5 {
		t.Fatalf("ksqlDB credential %v (%q): %v", md, md.Password, err)
	}
	plain, err := NewRESTCredential("rk-b", "s3cret", RESTMechanism(ProductConnect))
	if err != nil || plain.Password != "s3cret" || plain.Mechanism != MechanismRESTPlain {
		t.Fatalf("Connect credential %v: %v", plain, err)
	}
	if RESTMechanism(ProductKafka) != "" {
		t.Fatal("kafka clusters have REST keys")
	}
	for _, c := range []*KafkaCredential{md, plain} {
		if strings.Contains(c.String(), c.Password) {
			t.Fatal("String leaks a REST password")
		}
	}
	scram, _ := NewKafkaCredential("rk-a", "s")
	for _, bad := range []KafkaCredential{
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTMD5, Password: "MD5:xyz"},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTMD5, Password: "33e1b232a4e6fa0028a6670753749a17"},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTPlain, Password: ""},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTPlain, Password: "a,admin"},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTPlain, Password: "a\nintruder: b"},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismRESTPlain, Password: "abc", Salt: scram.Salt},
		{SchemaVersion: 1, User: "rk-a", Mechanism: MechanismSCRAMSHA512, Iterations: 4096, Salt: scram.Salt, SaltedPassword: scram.SaltedPassword, Password: "abc"},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q %q: %v", bad.Mechanism, bad.Password, err)
		}
	}

	mother, motherPub := curve(t)
	sat, satPub := curve(t)
	seal := func(c *KafkaCredential, product Product) *SealedCredential {
		sealed, err := c.Seal(mother, satPub)
		if err != nil {
			t.Fatal(err)
		}
		return &SealedCredential{SchemaVersion: SchemaVersion, Satellite: "eu", Product: product, Cluster: "pksqlc-1", KeyID: c.User,
			LogicalCluster: "lksqlc-1", Sender: motherPub, Recipient: satPub, Sealed: sealed}
	}
	v := seal(md, ProductKsqlDB)
	if got, err := v.Open(sat, motherPub); err != nil || got.Password != md.Password {
		t.Fatalf("opened %v: %v", got, err)
	}
	if k, err := ParseCredentialKey(v.Key().String()); err != nil || k != v.Key() || v.Key().String() != "eu.ksqldb.pksqlc-1.rk-a" {
		t.Fatalf("key %q: %v %v", v.Key(), k, err)
	}
	// A credential of another product's kind under a cluster's key does not open.
	for _, wrong := range []*SealedCredential{seal(md, ProductConnect), seal(md, ""), seal(scram, ProductKsqlDB)} {
		if _, err := wrong.Open(sat, motherPub); !errors.Is(err, ErrInvalid) {
			t.Errorf("a %s credential opened for a %q cluster: %v", wrong.Product, wrong.Product, err)
		}
	}
}
