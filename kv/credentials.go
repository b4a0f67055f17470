package kv

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nkeys"
)

// Kafka credentials travel sealed: the mothership derives a key's SCRAM salted password
// once, seals it (NaCl box through nkeys' curve keys) to its own curve key for the database,
// and again to the target satellite's curve key for the credentials bucket. Only the
// satellite holding that curve key's seed can open what it mirrors.

// MechanismSCRAMSHA512 is the only SASL mechanism Orbit issues.
const MechanismSCRAMSHA512 = "SCRAM-SHA-512"

// SCRAMIterations is the iteration count of every credential Orbit derives. 4,096 is the
// minimum RFC 7677 allows and what kfake authenticates (8,192 fails against it).
const SCRAMIterations = 4096

// Limits on a credential's parts.
const (
	MinSaltSize    = 16
	MaxSaltSize    = 64
	MaxSealedSize  = 4096
	MaxKeyIDLength = 63
)

// ErrSealed is returned when a sealed credential does not open with the given keys.
var ErrSealed = errors.New("sealed credential does not open with this key")

// KafkaCredential is what a sealed credential holds once opened: a SCRAM user and the salted
// password Kafka's AlterUserSCRAMs takes. It is never stored or published in the clear.
type KafkaCredential struct {
	SchemaVersion  int    `json:"schemaVersion"`
	User           string `json:"user"`
	Mechanism      string `json:"mechanism"`
	Iterations     int    `json:"iterations"`
	Salt           []byte `json:"salt"`
	SaltedPassword []byte `json:"saltedPassword"`
}

// NewKafkaCredential derives the SCRAM-SHA-512 credential of user and secret with a random
// salt and SCRAMIterations iterations.
func NewKafkaCredential(user, secret string) (*KafkaCredential, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	salted, err := pbkdf2.Key(sha512.New, secret, salt, SCRAMIterations, sha512.Size)
	if err != nil {
		return nil, err
	}
	c := &KafkaCredential{SchemaVersion: SchemaVersion, User: user, Mechanism: MechanismSCRAMSHA512,
		Iterations: SCRAMIterations, Salt: salt, SaltedPassword: salted}
	return c, c.Validate()
}

// Validate checks a credential.
func (c *KafkaCredential) Validate() error {
	switch {
	case c.SchemaVersion != SchemaVersion:
		return versionError(c.SchemaVersion)
	case c.User == "" || len(c.User) > MaxKeyIDLength || strings.ContainsAny(c.User, ".*> \t\r\n"):
		return fieldError("user", "must be a key id (at most 63 characters, no dots or wildcards)")
	case c.Mechanism != MechanismSCRAMSHA512:
		return fieldError("mechanism", fmt.Sprintf("must be %s", MechanismSCRAMSHA512))
	case c.Iterations != SCRAMIterations:
		return fieldError("iterations", fmt.Sprintf("must be %d", SCRAMIterations))
	case len(c.Salt) < MinSaltSize || len(c.Salt) > MaxSaltSize:
		return fieldError("salt", fmt.Sprintf("must be %d to %d bytes", MinSaltSize, MaxSaltSize))
	case len(c.SaltedPassword) != sha512.Size:
		return fieldError("saltedPassword", fmt.Sprintf("must be %d bytes", sha512.Size))
	}
	return nil
}

// String keeps the salted password out of logs and errors.
func (c *KafkaCredential) String() string {
	return fmt.Sprintf("KafkaCredential{user: %s, %s}", c.User, c.Mechanism)
}

// Seal encodes c and seals it from the curve key pair from to the public curve key to.
func (c *KafkaCredential) Seal(from nkeys.KeyPair, to string) ([]byte, error) {
	data, err := Encode(c)
	if err != nil {
		return nil, err
	}
	return from.Seal(data, to)
}

// OpenKafkaCredential opens a credential sealed by the public curve key from to the key
// pair own, and decodes it strictly.
func OpenKafkaCredential(sealed []byte, own nkeys.KeyPair, from string) (*KafkaCredential, error) {
	if len(sealed) > MaxSealedSize {
		return nil, fmt.Errorf("%w: sealed credential is %d bytes, limit %d", ErrInvalid, len(sealed), MaxSealedSize)
	}
	data, err := own.Open(sealed, from)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return decode[KafkaCredential](data)
}

// ValidateCurvePublicKey checks that k is an nkeys public curve key (X…).
func ValidateCurvePublicKey(field, k string) error {
	if !nkeys.IsValidPublicCurveKey(k) {
		return fieldError(field, "must be a public curve key (nkeys, X…)")
	}
	return nil
}
