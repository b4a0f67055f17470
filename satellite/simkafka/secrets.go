package simkafka

import (
	"context"
	"errors"
	"sync"
)

// StaticSecrets is Secrets held in memory, for callers that are not reading Kubernetes.
// Set changes what the next read returns, as writing the Secret would.
type StaticSecrets struct {
	mu             sync.Mutex
	user, password string
	keystore       []byte
}

// Set replaces the super user and the keystore.
func (s *StaticSecrets) Set(user, password string, keystore []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password, s.keystore = user, password, keystore
}

// SetKeystore replaces the keystore only (a certificate rotation).
func (s *StaticSecrets) SetKeystore(keystore []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keystore = keystore
}

// Superuser implements Secrets.
func (s *StaticSecrets) Superuser(context.Context) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.user == "" {
		return "", "", errors.New("no super user")
	}
	return s.user, s.password, nil
}

// Keystore implements Secrets.
func (s *StaticSecrets) Keystore(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keystore) == 0 {
		return nil, errors.New("no keystore")
	}
	return s.keystore, nil
}
