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
