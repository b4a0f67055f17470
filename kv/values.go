package kv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/orbitcp/orbit/kv/kafkaconf"
)

// SchemaVersion is the version of every value type this package encodes and decodes.
const SchemaVersion = 1

// Limits on what a desired state may ask for. They bound what a satellite will try to
// build from one key, whatever the mothership sends.
const (
	MaxReplicas      = 256
	MaxControllers   = 7
	MaxStorageGiB    = 64 * 1024
	MaxConfigEntries = 256
	MaxConfigValue   = 4096
	// MaxCertificateSize bounds a PEM certificate in a status.
	MaxCertificateSize = 16 * 1024
)

var (
	versionPattern   = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	configKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
)

// PSC is a physical stateful cluster: the desired state of one physical cluster on one
// satellite, as the mothership's sync service renders it into the desired bucket.
type PSC struct {
	SchemaVersion int     `json:"schemaVersion"`
	ID            string  `json:"id"`
	Satellite     string  `json:"satellite"`
	Product       Product `json:"product"`
	// Generation increases with every change of the desired state. The satellite reports the
	// generation it converged to as Status.ObservedGeneration.
	Generation int64 `json:"generation"`
	// Deleted asks the satellite to remove the cluster's workloads. Its volumes are kept,
	// so that an undelete finds them, until PurgeAfter; then the satellite purges them.
	Deleted    bool       `json:"deleted,omitempty"`
	PurgeAfter *time.Time `json:"purgeAfter,omitempty"`
	Spec       PSCSpec    `json:"spec"`
}

// PSCSpec is what the satellite materialises.
type PSCSpec struct {
	// Version of the product software, e.g. "3.9.0".
	Version string `json:"version"`
	// Replicas is the number of brokers (kafka) or workers (ksqldb, connect).
	Replicas int32 `json:"replicas"`
	// Controllers is the size of the KRaft controller quorum (kafka only; 0 means combined
	// mode is not used and the satellite picks none yet).
	Controllers int32             `json:"controllers,omitempty"`
	Storage     Storage           `json:"storage"`
	Config      map[string]string `json:"config,omitempty"`
	// Kafka is the Kafka cluster a ksqldb or connect cluster works with, on the same
	// satellite.
	Kafka *KafkaRef `json:"kafka,omitempty"`
	// TLSSerial changes when the cluster's certificates must be reissued. A rotation
	// updates the certificate Secret only: no broker restarts.
	TLSSerial int64 `json:"tlsSerial,omitempty"`
	// Tenants are the logical clusters a multi-tenant Kafka cluster hosts, with their quotas.
	Tenants []TenantQuota `json:"tenants,omitempty"`
	// KafkaClusterID is a Kafka cluster's KRaft cluster id (kafka only, required): 16 random
	// bytes in unpadded URL-safe base64, 22 characters, as `kafka-storage.sh random-uuid`
	// prints it. The mothership generates it once per physical cluster and never changes it:
	// the brokers' storage is formatted with it, and a broker refuses storage formatted
	// for another cluster id.
	KafkaClusterID string `json:"kafkaClusterId,omitempty"`
	// Mitigation turns the satellite's automated mitigation (restarting a broker Kafka
	// does not see, growing full disks, rebalancing) on or off for this cluster: "" or
	// MitigationOn, MitigationOff. An annotation on the satellite's object can turn it off
	// too, for emergencies while the mothership is away.
	Mitigation string `json:"mitigation,omitempty"`
	// ReplicationThrottle is the replication throttle (bytes per second per broker) under
	// which a Kafka cluster's replicas move when it is resized; 0 means the satellite's
	// default.
	ReplicationThrottle int64 `json:"replicationThrottle,omitempty"`
	// ProfileRevision is the revision of the product profile this spec is rendered at. The
	// satellite reports it back (Status.ProfileRevision) once it applied the generation, so
	// that a rollout knows which revision each cluster runs.
	ProfileRevision int64 `json:"profileRevision,omitempty"`
	// MetadataVersion is the metadata.version feature level (kafkaconf.MetadataVersion) a
	// Kafka cluster is to be finalized at, once it is Ready on Version: set when a rollout
	// that upgraded it is finalized; 0 leaves the level where the cluster was formatted.
	// The satellite raises the finalized level through Kafka's UpdateFeatures (upgrade
	// only) and reports it (Status.Kafka.MetadataVersion).
	MetadataVersion int16 `json:"metadataVersion,omitempty"`
}

// Mitigation settings of a PSC.
const (
	MitigationOn  = "on"
	MitigationOff = "off"
)

// MaxTenants bounds how many logical clusters one physical cluster hosts.
const MaxTenants = 1000

// TenantQuota is one logical cluster's share of a multi-tenant Kafka cluster. Zero means
// no limit.
type TenantQuota struct {
	// ID is the logical cluster's id; its clients authenticate as this principal.
	ID               string `json:"id"`
	ProducerByteRate int64  `json:"producerByteRate,omitempty"`
	ConsumerByteRate int64  `json:"consumerByteRate,omitempty"`
}

// KafkaRef names a Kafka physical cluster.
type KafkaRef struct {
	ID string `json:"id"`
	// Logical is the logical Kafka cluster a ksqldb or connect cluster works for when ID is
	// a shared (basic, standard) cluster: the tenant whose topics, groups and transactional
	// ids (<logical>.…) its principal may use. Empty for a dedicated cluster.
	Logical string `json:"logical,omitempty"`
}

// Storage describes the volume of each replica.
type Storage struct {
	Class   string `json:"class,omitempty"`
	SizeGiB int32  `json:"sizeGiB"`
}

// Key returns the bucket key of the PSC.
func (p *PSC) Key() Key { return Key{Satellite: p.Satellite, Product: p.Product, Cluster: p.ID} }

// Validate checks every field.
func (p *PSC) Validate() error {
	if p.SchemaVersion != SchemaVersion {
		return versionError(p.SchemaVersion)
	}
	if err := ValidateName("id", p.ID); err != nil {
		return err
	}
	if err := ValidateName("satellite", p.Satellite); err != nil {
		return err
	}
	if err := p.Product.Validate("product"); err != nil {
		return err
	}
	if p.Generation < 1 {
		return fieldError("generation", fmt.Sprintf("must be at least 1 (got %d)", p.Generation))
	}
	if p.PurgeAfter != nil && !p.Deleted {
		return fieldError("purgeAfter", "only a deleted cluster has one")
	}
	if err := p.Spec.validate(p.Product); err != nil {
		return prefixed("spec", err)
	}
	return nil
}

func (s *PSCSpec) validate(product Product) error {
	if err := ValidateVersion("version", s.Version); err != nil {
		return err
	}
	if s.Replicas < 1 || s.Replicas > MaxReplicas {
		return fieldError("replicas", fmt.Sprintf("must be between 1 and %d (got %d)", MaxReplicas, s.Replicas))
	}
	if s.Controllers < 0 || s.Controllers > MaxControllers || (s.Controllers > 0 && product != ProductKafka) {
		return fieldError("controllers", fmt.Sprintf("must be between 0 and %d, and only for kafka (got %d)", MaxControllers, s.Controllers))
	}
	if s.Storage.Class != "" {
		if err := ValidateName("class", s.Storage.Class); err != nil {
			return prefixed("storage", err)
		}
	}
	switch s.Mitigation {
	case "", MitigationOn, MitigationOff:
	default:
		return fieldError("mitigation", fmt.Sprintf("%q must be on or off", s.Mitigation))
	}
	if s.Storage.SizeGiB < 1 || s.Storage.SizeGiB > MaxStorageGiB {
		return fieldError("storage.sizeGiB", fmt.Sprintf("must be between 1 and %d (got %d)", MaxStorageGiB, s.Storage.SizeGiB))
	}
	switch {
	case product == ProductKafka && s.Kafka != nil:
		return fieldError("kafka", "a kafka cluster does not reference another")
	case product != ProductKafka && s.Kafka == nil:
		return fieldError("kafka", fmt.Sprintf("a %s cluster needs the kafka cluster it works with", product))
	case s.Kafka != nil:
		if err := ValidateName("id", s.Kafka.ID); err != nil {
			return prefixed("kafka", err)
		}
		if s.Kafka.Logical != "" {
			if err := ValidateName("logical", s.Kafka.Logical); err != nil {
				return prefixed("kafka", err)
			}
		}
	}
	if s.ProfileRevision < 0 {
		return fieldError("profileRevision", "must not be negative")
	}
	if s.MetadataVersion != 0 {
		if product != ProductKafka {
			return fieldError("metadataVersion", "only a kafka cluster has one")
		}
		if err := kafkaconf.CheckMetadataVersion(s.Version, s.MetadataVersion); err != nil {
			return fieldError("metadataVersion", err.Error())
		}
	}
	if s.TLSSerial < 0 {
		return fieldError("tlsSerial", "must not be negative")
	}
	switch {
	case product == ProductKafka:
		if err := ValidateKafkaClusterID(s.KafkaClusterID); err != nil {
			return fieldError("kafkaClusterId", err.Error())
		}
	case s.KafkaClusterID != "":
		return fieldError("kafkaClusterId", "only a kafka cluster has one")
	}
	if len(s.Tenants) > 0 && product != ProductKafka {
		return fieldError("tenants", "only a kafka cluster hosts tenants")
	}
	if len(s.Tenants) > MaxTenants {
		return fieldError("tenants", fmt.Sprintf("at most %d (got %d)", MaxTenants, len(s.Tenants)))
	}
	seen := map[string]bool{}
	for i, t := range s.Tenants {
		field := fmt.Sprintf("tenants[%d]", i)
		if err := ValidateName("id", t.ID); err != nil {
			return prefixed(field, err)
		}
		if seen[t.ID] {
			return fieldError(field+".id", fmt.Sprintf("%q is listed twice", t.ID))
		}
		seen[t.ID] = true
		if t.ProducerByteRate < 0 || t.ConsumerByteRate < 0 {
			return fieldError(field, "quotas must not be negative")
		}
	}
	return ValidateConfig("config", s.Config)
}

// ValidateVersion checks a product version: MAJOR.MINOR.PATCH.
func ValidateVersion(field, v string) error {
	if !versionPattern.MatchString(v) {
		return fieldError(field, fmt.Sprintf("%q must be MAJOR.MINOR.PATCH", v))
	}
	return nil
}

// ValidateConfig checks a product configuration's size, keys and values.
func ValidateConfig(field string, cfg map[string]string) error {
	if len(cfg) > MaxConfigEntries {
		return fieldError(field, fmt.Sprintf("at most %d entries (got %d)", MaxConfigEntries, len(cfg)))
	}
	for k, v := range cfg {
		if !configKeyPattern.MatchString(k) {
			return fieldError(field, fmt.Sprintf("key %q must match %s", k, configKeyPattern))
		}
		if len(v) > MaxConfigValue {
			return fieldError(field+"."+k, fmt.Sprintf("at most %d bytes", MaxConfigValue))
		}
	}
	return nil
}

// ValidateKafkaClusterID checks a KRaft cluster id the way Kafka's Uuid.fromString reads
// it: 22 characters of unpadded URL-safe base64 holding 16 bytes. It also refuses what
// Kafka reserves (the zero and the metadata topic's ids) and a leading '-', which the
// storage tool would take for an option (Kafka's own random-uuid never prints one).
func ValidateKafkaClusterID(id string) error {
	if id == "" {
		return errors.New("is required: the KRaft cluster id the storage is formatted with")
	}
	if len(id) != 22 {
		return fmt.Errorf("%q must be 22 characters of URL-safe base64 (got %d)", id, len(id))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(b) != 16 {
		return fmt.Errorf("%q is not 16 bytes in URL-safe base64", id)
	}
	if id[0] == '-' {
		return fmt.Errorf("%q must not start with '-'", id)
	}
	if bytes.Equal(b[:15], make([]byte, 15)) && b[15] <= 1 {
		return fmt.Errorf("%q is reserved by Kafka", id)
	}
	return nil
}

// Phase is the satellite's view of a physical cluster.
type Phase string

// Phases a satellite reports.
const (
	PhaseProvisioning Phase = "provisioning"
	PhaseReady        Phase = "ready"
	PhaseDegraded     Phase = "degraded"
	PhaseDeleting     Phase = "deleting"
	PhaseDeleted      Phase = "deleted"
	// PhasePurged: a deleted cluster's volumes are gone too.
	PhasePurged Phase = "purged"
	// PhaseFailed means the desired state can never be converged as written (an invalid
	// value, say). It is terminal until the desired state changes.
	PhaseFailed Phase = "failed"
)

func (p Phase) validate() error {
	switch p {
	case PhaseProvisioning, PhaseReady, PhaseDegraded, PhaseDeleting, PhaseDeleted, PhasePurged, PhaseFailed:
		return nil
	}
	return fieldError("phase", fmt.Sprintf("unknown phase %q", string(p)))
}

// Condition follows the Kubernetes condition shape.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"` // "True", "False" or "Unknown"
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	ObservedGeneration int64     `json:"observedGeneration,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// Status is the actual state of one physical cluster, written by its satellite into the
// actual bucket under the same key as its desired state.
type Status struct {
	SchemaVersion int     `json:"schemaVersion"`
	ID            string  `json:"id"`
	Satellite     string  `json:"satellite"`
	Product       Product `json:"product"`
	// ObservedGeneration is the desired generation the satellite last applied successfully.
	// It is 0 when no generation was applied yet (for example, the first one was invalid).
	ObservedGeneration int64 `json:"observedGeneration"`
	// ProfileRevision is the profile revision of the spec at ObservedGeneration.
	ProfileRevision int64       `json:"profileRevision,omitempty"`
	Phase           Phase       `json:"phase"`
	Reason          string      `json:"reason,omitempty"`
	Message         string      `json:"message,omitempty"`
	Conditions      []Condition `json:"conditions,omitempty"`
	Replicas        int32       `json:"replicas"`
	ReadyReplicas   int32       `json:"readyReplicas"`
	// Roles breaks replicas down by role (kafka: brokers and controllers).
	Roles []RoleStatus `json:"roles,omitempty"`
	// Bootstrap is the address clients connect to (kafka: the bootstrap DNS name and port;
	// ksqldb, connect: their HTTPS endpoint's name and port), once its load balancer has an
	// address.
	Bootstrap string `json:"bootstrap,omitempty"`
	// BootstrapHost is the name the cluster's certificate is verified against: the host of
	// Bootstrap, or, on a simulated cluster that reports a loopback address (no DNS serves
	// the satellite's domain on a developer's machine), the bootstrap DNS name.
	BootstrapHost string `json:"bootstrapHost,omitempty"`
	// CACertificate is the PEM certificate of the CA that signs the cluster's server
	// certificates (for ksqldb and connect: their Kafka cluster's CA). Clients trust it.
	CACertificate string `json:"caCertificate,omitempty"`
	// CertificateSerial is the serial (hex) of the server certificate currently issued.
	CertificateSerial string `json:"certificateSerial,omitempty"`
	// Brokers lists what each Kafka broker serves, as the satellite last observed it.
	Brokers []BrokerStatus `json:"brokers,omitempty"`
	// Data is what a Kafka cluster holds, as Kafka itself reports it through its Admin API
	// (the usage meter bills from it); nil until the satellite reached the cluster.
	Data *DataUsage `json:"data,omitempty"`
	// Kafka is the cluster's health as Kafka itself reports it, as the satellite last read it.
	Kafka     *KafkaHealth `json:"kafka,omitempty"`
	UpdatedAt time.Time    `json:"updatedAt"`
}

// DataUsage is what a Kafka cluster holds, read from Kafka (topic metadata and log
// directories): its topics' partitions and their logical bytes (the size of one replica:
// the largest replica of each partition), for the whole cluster and, on a shared cluster,
// for each logical cluster (its topics are those named "<logical-cluster-id>.…").
type DataUsage struct {
	Partitions int32         `json:"partitions"`
	Bytes      int64         `json:"bytes"`
	Tenants    []TenantUsage `json:"tenants,omitempty"`
}

// TenantUsage is one logical cluster's share of a shared Kafka cluster.
type TenantUsage struct {
	ID         string `json:"id"`
	Partitions int32  `json:"partitions"`
	Bytes      int64  `json:"bytes"`
}

// Tenant returns the usage of logical cluster id, or nil.
func (d *DataUsage) Tenant(id string) *TenantUsage {
	if d == nil {
		return nil
	}
	for i := range d.Tenants {
		if d.Tenants[i].ID == id {
			return &d.Tenants[i]
		}
	}
	return nil
}

func (d *DataUsage) validate() error {
	if d == nil {
		return nil
	}
	if d.Partitions < 0 || d.Bytes < 0 {
		return fieldError("data", "partitions and bytes must not be negative")
	}
	if len(d.Tenants) > MaxTenants {
		return fieldError("data.tenants", fmt.Sprintf("at most %d", MaxTenants))
	}
	for i, t := range d.Tenants {
		if err := ValidateName(fmt.Sprintf("data.tenants[%d].id", i), t.ID); err != nil {
			return err
		}
		if t.Partitions < 0 || t.Bytes < 0 {
			return fieldError(fmt.Sprintf("data.tenants[%d]", i), "partitions and bytes must not be negative")
		}
	}
	return nil
}

// KafkaHealth is a Kafka cluster's data as Kafka reports it: partitions (one per
// partition, not per replica), bytes on disk (every replica, on every broker), and the
// partitions that are under-replicated or offline; per tenant on a shared cluster (the
// topics under the tenant's prefix, "<id>.").
type KafkaHealth struct {
	Partitions      int32          `json:"partitions"`
	UnderReplicated int32          `json:"underReplicated"`
	Offline         int32          `json:"offline"`
	BytesOnDisk     int64          `json:"bytesOnDisk"`
	Tenants         []TenantHealth `json:"tenants,omitempty"`
	// MetadataVersion is the finalized metadata.version feature level Kafka reports
	// (ApiVersions' finalized features); 0 when Kafka reported none.
	MetadataVersion int16 `json:"metadataVersion,omitempty"`
}

// TenantHealth is one shared-cluster tenant's share of KafkaHealth.
type TenantHealth struct {
	ID              string `json:"id"`
	Partitions      int32  `json:"partitions"`
	UnderReplicated int32  `json:"underReplicated"`
	BytesOnDisk     int64  `json:"bytesOnDisk"`
}

// BrokerStatus is one Kafka broker as its satellite observed it through the Kafka protocol.
type BrokerStatus struct {
	// ID is the broker's node id.
	ID int32 `json:"id"`
	// Host is the name the broker advertises to clients.
	Host string `json:"host"`
	// CertificateSerial is the serial (hex) of the certificate the broker serves clients;
	// it differs from Status.CertificateSerial until the broker reloaded a rotation.
	CertificateSerial string `json:"certificateSerial,omitempty"`
}

// RoleStatus is the replica count of one role of a cluster.
type RoleStatus struct {
	Name     string `json:"name"`
	Replicas int32  `json:"replicas"`
	Ready    int32  `json:"ready"`
}

// Key returns the bucket key of the status.
func (s *Status) Key() Key { return Key{Satellite: s.Satellite, Product: s.Product, Cluster: s.ID} }

// Validate checks every field.
func (s *Status) Validate() error {
	if s.SchemaVersion != SchemaVersion {
		return versionError(s.SchemaVersion)
	}
	if err := s.Key().Validate(); err != nil {
		return err
	}
	if s.ProfileRevision < 0 {
		return fieldError("profileRevision", "must not be negative")
	}
	if s.ObservedGeneration < 0 {
		return fieldError("observedGeneration", "must not be negative")
	}
	if err := s.Phase.validate(); err != nil {
		return err
	}
	if s.Replicas < 0 || s.ReadyReplicas < 0 || s.ReadyReplicas > s.Replicas+MaxReplicas {
		return fieldError("readyReplicas", "out of range")
	}
	if len(s.CACertificate) > MaxCertificateSize {
		return fieldError("caCertificate", fmt.Sprintf("at most %d bytes", MaxCertificateSize))
	}
	if len(s.Brokers) > MaxReplicas {
		return fieldError("brokers", fmt.Sprintf("at most %d", MaxReplicas))
	}
	if err := s.Data.validate(); err != nil {
		return err
	}
	if s.Kafka != nil && s.Kafka.MetadataVersion < 0 {
		return fieldError("kafka.metadataVersion", "must not be negative")
	}
	for i, c := range s.Conditions {
		if c.Type == "" {
			return fieldError(fmt.Sprintf("conditions[%d].type", i), "is required")
		}
		switch c.Status {
		case "True", "False", "Unknown":
		default:
			return fieldError(fmt.Sprintf("conditions[%d].status", i), fmt.Sprintf("%q must be True, False or Unknown", c.Status))
		}
	}
	return nil
}

// Condition returns the condition of the given type, or nil.
func (s *Status) Condition(typ string) *Condition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// Satellite is a satellite's registration and heartbeat in the satellites bucket.
type Satellite struct {
	SchemaVersion int    `json:"schemaVersion"`
	Name          string `json:"name"`
	Region        string `json:"region"`
	Cloud         string `json:"cloud"`
	// Networks lists the network types the satellite serves: public, vpc-peering,
	// private-link.
	Networks []string `json:"networks"`
	Capacity Capacity `json:"capacity"`
	Version  string   `json:"version"`
	// Simulated is true when the satellite drives a simulated Kubernetes (dev mode).
	Simulated   bool      `json:"simulated,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	HeartbeatAt time.Time `json:"heartbeatAt"`
}

// Capacity is what a satellite declares it can host.
type Capacity struct {
	Clusters int32 `json:"clusters"`
	Brokers  int32 `json:"brokers"`
}

// Network types.
var Networks = []string{"public", "vpc-peering", "private-link"}

// Validate checks every field.
func (s *Satellite) Validate() error {
	if s.SchemaVersion != SchemaVersion {
		return versionError(s.SchemaVersion)
	}
	if err := ValidateName("name", s.Name); err != nil {
		return err
	}
	if err := ValidateName("region", s.Region); err != nil {
		return err
	}
	if err := ValidateName("cloud", s.Cloud); err != nil {
		return err
	}
	if len(s.Networks) == 0 {
		return fieldError("networks", "at least one network type is required")
	}
	for i, n := range s.Networks {
		if !validNetwork(n) {
			return fieldError(fmt.Sprintf("networks[%d]", i), fmt.Sprintf("unknown network type %q (want public, vpc-peering or private-link)", n))
		}
	}
	if s.Capacity.Clusters < 0 || s.Capacity.Brokers < 0 {
		return fieldError("capacity", "must not be negative")
	}
	if s.HeartbeatAt.IsZero() {
		return fieldError("heartbeatAt", "is required")
	}
	return nil
}

func validNetwork(n string) bool {
	for _, known := range Networks {
		if n == known {
			return true
		}
	}
	return false
}

func versionError(got int) error {
	return fieldError("schemaVersion", fmt.Sprintf("unsupported version %d (this build speaks %d)", got, SchemaVersion))
}

// validator is a value type of this package.
type validator interface{ Validate() error }

// Encode validates v and renders it as JSON.
func Encode(v validator) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// DecodePSC strictly decodes a desired value.
func DecodePSC(data []byte) (*PSC, error) { return decode[PSC](data) }

// DecodeStatus strictly decodes an actual value.
func DecodeStatus(data []byte) (*Status, error) { return decode[Status](data) }

// DecodeSatellite strictly decodes a satellites value.
func DecodeSatellite(data []byte) (*Satellite, error) { return decode[Satellite](data) }

// MaxValueSize bounds every value this package decodes.
const MaxValueSize = 1 << 20

// decode checks the schema version first (so that a value of another version is reported as
// such rather than as an unknown field), then decodes strictly and validates.
func decode[T any, PT interface {
	*T
	validator
}](data []byte) (*T, error) {
	if len(data) > MaxValueSize {
		return nil, fmt.Errorf("%w: value is %d bytes, limit %d", ErrInvalid, len(data), MaxValueSize)
	}
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if head.SchemaVersion == nil {
		return nil, fieldError("schemaVersion", "is required")
	}
	if *head.SchemaVersion != SchemaVersion {
		return nil, versionError(*head.SchemaVersion)
	}
	v := PT(new(T))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the value", ErrInvalid)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return (*T)(v), nil
}
