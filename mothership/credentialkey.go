package mothership

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
)

// LoadCredentialKey reads the mothership's curve key pair (an nkeys curve seed, SX…) from
// path, creating it (mode 0600) when the file does not exist. Kafka credentials are sealed
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
	kp, err := nkeys.FromCurveSeed(bytes.TrimSpace(seed))
	if err != nil {
		return nil, fmt.Errorf("credential key %s: not an nkeys curve seed", path)
	}
	return kp, nil
}
