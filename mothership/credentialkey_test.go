package mothership

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestKeySeed: an nkeys seed passes as is; a long random secret (what a Helm chart
// generates) always derives the same seed, another one per kind; short secrets and seeds of
// the wrong kind are refused.
func TestKeySeed(t *testing.T) {
	user, _ := nkeys.CreateUser()
	userSeed, _ := user.Seed()
	got, err := KeySeed(append(userSeed, '\n'), nkeys.PrefixByteUser)
	if err != nil || string(got) != string(userSeed) {
		t.Fatalf("seed passed through as %q, %v", got, err)
	}
	if _, err := KeySeed(userSeed, nkeys.PrefixByteCurve); err == nil {
		t.Error("a user seed was accepted as a curve seed")
	}
	secret := []byte("Zq3v9XkP0aLm2RtY7uWc4NbE8hJd6GfS1oIq5VxTz\n")
	a, err := KeySeed(secret, nkeys.PrefixByteUser)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeySeed(secret[:len(secret)-1], nkeys.PrefixByteUser)
	if string(a) != string(b) {
		t.Error("the same secret derived two seeds")
	}
	if kp, err := nkeys.FromSeed(a); err != nil {
		t.Errorf("derived user seed: %v", err)
	} else if pub, _ := kp.PublicKey(); !strings.HasPrefix(pub, "U") {
		t.Errorf("derived key %s is not a user key", pub)
	}
	c, err := KeySeed(secret, nkeys.PrefixByteCurve)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nkeys.FromCurveSeed(c); err != nil {
		t.Errorf("derived curve seed: %v", err)
	}
	if string(c[2:]) == string(a[2:]) {
		t.Error("user and curve seeds derived alike")
	}
	if _, err := KeySeed([]byte("too-short-secret"), nkeys.PrefixByteUser); err == nil || !strings.Contains(err.Error(), "32 characters") {
		t.Errorf("short secret: %v", err)
	}
}

// TestLoadCredentialKeyFromSecret: a Secret-mounted random string is a stable credential key.
func TestLoadCredentialKeyFromSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credential-key")
	if err := os.WriteFile(path, []byte(strings.Repeat("k7", 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := LoadCredentialKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadCredentialKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := a.PublicKey()
	pb, _ := b.PublicKey()
	if pa != pb || !strings.HasPrefix(pa, "X") {
		t.Errorf("keys %s, %s", pa, pb)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCredentialKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("short secret: %v", err)
	}
}
