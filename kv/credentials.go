package kv

import (
	"cmp"
	"crypto/md5" //nolint:gosec // the only digest Jetty's PropertyFileLoginModule verifies besides DES crypt (see MechanismRESTMD5)
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nkeys"
)

// API key credentials travel sealed: the mothership derives a key's SCRAM salted password
// (Kafka) or REST users-file password field (ksqlDB, Connect) once, seals it (NaCl box
// through nkeys' curve keys) to its own curve key for the database, and again to the
// target satellite's curve key for the credentials bucket. Only the satellite holding that
// curve key's seed can open what it mirrors.

// MechanismSCRAMSHA512 is the only SASL mechanism Orbit issues (Kafka API keys).
const MechanismSCRAMSHA512 = "SCRAM-SHA-512"

// REST API keys of ksqlDB and Connect: HTTP basic authentication users of the workers'
// PropertyFileLoginModule, one line of its users file each. Their credential is the
// login module's password field, derived once by the mothership:
//
//   - MechanismRESTMD5 (ksqlDB): "MD5:<hex md5 of the secret>", Jetty's Credential.MD5.
//     Jetty's property login module verifies only plain, OBF: (reversible), CRYPT: (DES
//     crypt, which reads 8 characters of the secret) and MD5: credentials; MD5 of a 256-bit
//     random secret is the strongest of them and cannot be reversed to the secret.
//   - MechanismRESTPlain (Connect): the secret itself. Kafka Connect's
//     BasicAuthSecurityRestExtension compares plain passwords only, so the secret lives in
//     the sealed credential and in the cluster's rest-users Secret, nowhere else.
const (
	MechanismRESTMD5   = "rest-md5"
	MechanismRESTPlain = "rest-plain"
)

// MaxRESTPasswordLength bounds a REST credential's password field.
const MaxRESTPasswordLength = 256

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
// password Kafka's AlterUserSCRAMs takes, or (Mechanism rest-md5 or rest-plain) a ksqlDB or
// Connect REST user and the password field of its users-file line. It is never stored or
// published in the clear.
type KafkaCredential struct {
	SchemaVersion  int    `json:"schemaVersion"`
	User           string `json:"user"`
	Mechanism      string `json:"mechanism"`
	Iterations     int    `json:"iterations,omitempty"`
	Salt           []byte `json:"salt,omitempty"`
	SaltedPassword []byte `json:"saltedPassword,omitempty"`
	// Password is a REST credential's users-file password field (see MechanismRESTMD5).
	Password string `json:"password,omitempty"`
}

// RESTMechanism is the mechanism of the REST API keys of product: rest-md5 for ksqlDB,
// rest-plain for Connect, "" for a product without REST keys.
func RESTMechanism(product Product) string {
	switch product {
	case ProductKsqlDB:
		return MechanismRESTMD5
	case ProductConnect:
		return MechanismRESTPlain
	}
	return ""
}

// NewRESTCredential derives the REST credential of user and secret for mechanism
// (MechanismRESTMD5 or MechanismRESTPlain).
func NewRESTCredential(user, secret, mechanism string) (*KafkaCredential, error) {
	c := &KafkaCredential{SchemaVersion: SchemaVersion, User: user, Mechanism: mechanism}
	switch mechanism {
	case MechanismRESTMD5:
		sum := md5.Sum([]byte(secret)) //nolint:gosec // see MechanismRESTMD5
		c.Password = "MD5:" + hex.EncodeToString(sum[:])
	case MechanismRESTPlain:
		c.Password = secret
	}
	return c, c.Validate()
}

// credentialMechanism is the mechanism of the credentials of a product's clusters.
func credentialMechanism(product Product) string {
	if product == "" || product == ProductKafka {
		return MechanismSCRAMSHA512
	}
	return RESTMechanism(product)
}

// IsREST reports whether c is a ksqlDB or Connect REST credential.
func (c *KafkaCredential) IsREST() bool {
	return c.Mechanism == MechanismRESTMD5 || c.Mechanism == MechanismRESTPlain
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
	case c.IsREST():
		return c.validateREST()
	case c.Mechanism != MechanismSCRAMSHA512:
		return fieldError("mechanism", fmt.Sprintf("must be %s, %s or %s", MechanismSCRAMSHA512, MechanismRESTMD5, MechanismRESTPlain))
	case c.Password != "":
		return fieldError("password", "only REST credentials have one")
	case c.Iterations != SCRAMIterations:
		return fieldError("iterations", fmt.Sprintf("must be %d", SCRAMIterations))
	case len(c.Salt) < MinSaltSize || len(c.Salt) > MaxSaltSize:
		return fieldError("salt", fmt.Sprintf("must be %d to %d bytes", MinSaltSize, MaxSaltSize))
	case len(c.SaltedPassword) != sha512.Size:
		return fieldError("saltedPassword", fmt.Sprintf("must be %d bytes", sha512.Size))
	}
	return nil
}

// validateREST checks a REST credential: a password field the users file can hold on one
// line without escapes, and nothing of SCRAM's.
func (c *KafkaCredential) validateREST() error {
	switch {
	case c.Iterations != 0 || len(c.Salt) != 0 || len(c.SaltedPassword) != 0:
		return fieldError("mechanism", fmt.Sprintf("a %s credential has no iterations, salt or salted password", c.Mechanism))
	case c.Password == "" || len(c.Password) > MaxRESTPasswordLength:
		return fieldError("password", fmt.Sprintf("must be 1 to %d characters", MaxRESTPasswordLength))
	case strings.ContainsFunc(c.Password, func(r rune) bool { return !restPasswordRune(r) }):
		return fieldError("password", "may hold only letters, digits and ':' (a users file line)")
	case c.Mechanism == MechanismRESTMD5 && !isMD5Field(c.Password):
		return fieldError("password", "must be MD5:<32 hex digits>")
	}
	return nil
}

func restPasswordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ':'
}

func isMD5Field(s string) bool {
	h, ok := strings.CutPrefix(s, "MD5:")
	if !ok || len(h) != 2*md5.Size {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
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

// CredentialKey addresses one API key's sealed credential in the credentials bucket:
// <satellite>.<product>.<physical-cluster-id>.<key-id>. Product is that of the physical
// cluster (kafka: a SCRAM user; ksqldb, connect: a REST user); empty means kafka.
type CredentialKey struct {
	Satellite string
	Product   Product
	Cluster   string
	KeyID     string
}

// String renders the key as stored in the bucket.
func (k CredentialKey) String() string {
	return CredentialPrefix(k.Satellite, k.Product, k.Cluster) + k.KeyID
}

// Validate checks every part of the key.
func (k CredentialKey) Validate() error {
	if err := ValidateName("satellite", k.Satellite); err != nil {
		return err
	}
	if k.Product != "" {
		if err := k.Product.Validate("product"); err != nil {
			return err
		}
	}
	if err := ValidateName("cluster", k.Cluster); err != nil {
		return err
	}
	return ValidateName("keyId", k.KeyID)
}

// ParseCredentialKey parses and validates a credentials key.
func ParseCredentialKey(s string) (CredentialKey, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 || Product(parts[1]).Validate("product") != nil {
		return CredentialKey{}, fieldError("key", fmt.Sprintf("%q must be <satellite>.<product>.<cluster-id>.<key-id>", s))
	}
	k := CredentialKey{Satellite: parts[0], Product: Product(parts[1]), Cluster: parts[2], KeyID: parts[3]}
	if err := k.Validate(); err != nil {
		return CredentialKey{}, prefixed("key", err)
	}
	return k, nil
}

// CredentialPrefix is the key prefix of one physical cluster's credentials (product ""
// means kafka).
func CredentialPrefix(satellite string, product Product, cluster string) string {
	return satellite + "." + string(cmp.Or(product, ProductKafka)) + "." + cluster + "."
}

// SealedCredential is a value of the credentials bucket: one API key's credential (a
// KafkaCredential: SCRAM for a Kafka cluster, a REST users-file password field for a
// ksqlDB or Connect cluster) sealed from the mothership's curve key (Sender) to the target
// satellite's (Recipient). The satellite opens it with its own curve seed; nobody else can.
type SealedCredential struct {
	SchemaVersion int `json:"schemaVersion"`
	// Satellite, Cluster (physical) and KeyID repeat the key.
	Satellite string `json:"satellite"`
	// Product is the physical cluster's product; empty for kafka (the values written
	// before REST keys existed).
	Product Product `json:"product,omitempty"`
	Cluster string  `json:"cluster"`
	KeyID   string  `json:"keyId"`
	// LogicalCluster is the logical cluster the key belongs to: on a shared cluster, the
	// tenant whose prefix and quotas it gets.
	LogicalCluster string `json:"logicalCluster"`
	Sender         string `json:"sender"`
	Recipient      string `json:"recipient"`
	Sealed         []byte `json:"sealed"`
}

// Key returns the bucket key of the value.
func (c *SealedCredential) Key() CredentialKey {
	return CredentialKey{Satellite: c.Satellite, Product: cmp.Or(c.Product, ProductKafka), Cluster: c.Cluster, KeyID: c.KeyID}
}

// Validate checks a sealed credential.
func (c *SealedCredential) Validate() error {
	if c.SchemaVersion != SchemaVersion {
		return versionError(c.SchemaVersion)
	}
	if err := c.Key().Validate(); err != nil {
		return err
	}
	if err := ValidateName("logicalCluster", c.LogicalCluster); err != nil {
		return err
	}
	if err := ValidateCurvePublicKey("sender", c.Sender); err != nil {
		return err
	}
	if err := ValidateCurvePublicKey("recipient", c.Recipient); err != nil {
		return err
	}
	if len(c.Sealed) == 0 || len(c.Sealed) > MaxSealedSize {
		return fieldError("sealed", fmt.Sprintf("must be 1 to %d bytes", MaxSealedSize))
	}
	return nil
}

// Open opens the credential with the satellite's curve key pair, only if it was sealed by
// sender (the control plane's public curve key, which the satellite was given at onboarding:
// never the Sender the value claims, which whoever wrote the value chose), and checks that
// it names the key it is stored under.
func (c *SealedCredential) Open(own nkeys.KeyPair, sender string) (*KafkaCredential, error) {
	if c.Sender != sender {
		return nil, fmt.Errorf("%w: sealed by %s, not by the control plane's key %s", ErrSealed, c.Sender, sender)
	}
	cred, err := OpenKafkaCredential(c.Sealed, own, sender)
	if err != nil {
		return nil, err
	}
	if cred.User != c.KeyID {
		return nil, fieldError("sealed", "holds another key's credential")
	}
	if want := credentialMechanism(c.Product); cred.Mechanism != want {
		return nil, fieldError("sealed", fmt.Sprintf("holds a %s credential; a %s cluster's are %s", cred.Mechanism, cmp.Or(c.Product, ProductKafka), want))
	}
	return cred, nil
}

// DecodeSealedCredential strictly decodes a credentials value.
func DecodeSealedCredential(data []byte) (*SealedCredential, error) {
	return decode[SealedCredential](data)
}
