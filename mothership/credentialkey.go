package mothership

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// MinSecretLen is the shortest secret KeySeed derives a key from.
const MinSecretLen = 32

// KeySeed returns the nkeys seed of the given kind (nkeys.PrefixByteUser, PrefixByteCurve)
// that content holds: an nkeys seed of that kind as is, or else a random secret of at least
// MinSecretLen characters, from which it derives the seed (SHA-256 of the kind and the
// secret). The derivation lets a Helm chart generate the mothership's keys as plain random
// Secrets: templates can make random strings but not nkeys seeds.
func KeySeed(content []byte, kind nkeys.PrefixByte) ([]byte, error) {
	content = bytes.TrimSpace(content)
	if pb, _, err := nkeys.DecodeSeed(content); err == nil {
		if pb != kind {
			return nil, fmt.Errorf("an nkeys seed of kind %s, want %s", pb, kind)
		}
		return content, nil
	}
	if len(content) < MinSecretLen {
		return nil, fmt.Errorf("neither an nkeys %s seed nor a secret of at least %d characters", kind, MinSecretLen)
	}
	raw := sha256.Sum256(append([]byte("orbit nkey "+kind.String()+"\x00"), content...))
	return nkeys.EncodeSeed(kind, raw[:])
}

// LoadCredentialKey reads the mothership's curve key pair (an nkeys curve seed, SX…, or a
// secret it is derived from: KeySeed) from path, creating it (mode 0600) when the file does not exist. Kafka credentials are sealed
// from and to this key: every replica of a control plane must load the same one, and losing
// it makes every stored Kafka API key unusable (they would have to be re-issued).
func LoadCredentialKey(path string) (nkeys.KeyPair, error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kp, err := nkeys.CreateCurveKeys()
		if err != nil {
			return nil, err
		}
		seed, _ := kp.Seed()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadCredentialKey(path) // another replica won the race
		}
		if err != nil {
			return nil, fmt.Errorf("credential key: %w", err)
		}
		_, err = f.Write(append(seed, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("credential key: %w", err)
		}
		return kp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	if seed, err = KeySeed(seed, nkeys.PrefixByteCurve); err != nil {
		return nil, fmt.Errorf("credential key %s: %w", path, err)
	}
	return nkeys.FromCurveSeed(seed)
}
