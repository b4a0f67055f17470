// Package api holds the wire types of the mothership's REST API (/v1) and a client for it.
// The mothership's frontend writes these shapes and the orbit CLI reads them; nothing else
// depends on them.
package api

import (
	"encoding/json"
	"time"
)

// Phases of a cluster as the API reports them.
const (
	PhasePending      = "pending"
	PhaseProvisioning = "provisioning"
	PhaseReady        = "ready"
	PhaseDegraded     = "degraded"
	PhaseDeleting     = "deleting"
	PhaseDeleted      = "deleted"
)

// Cluster is a logical cluster with its status.
type Cluster struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Product string `json:"product"`
	SKU     string `json:"sku"`
	CKU     int    `json:"cku"`
	Region  string `json:"region"`
	Cloud   string `json:"cloud"`
	Network string `json:"network"`
	// Kafka is the name of the Kafka cluster a ksqldb or connect cluster works with.
	Kafka string `json:"kafka,omitempty"`
	// Mitigation is "off" when the satellite's automated mitigation is turned off.
	Mitigation string     `json:"mitigation,omitempty"`
	Generation int64      `json:"generation"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	DeletedAt  *time.Time `json:"deletedAt,omitempty"`
	// RestorableUntil is how long an undelete can bring a deleted cluster back, with its data.
	RestorableUntil *time.Time `json:"restorableUntil,omitempty"`
	Status          Status     `json:"status"`
}

// Status is what the control plane knows of a cluster's actual state.
type Status struct {
	Phase string `json:"phase"`
	// ObservedGeneration is the cluster generation the satellite has converged to.
	ObservedGeneration int64 `json:"observedGeneration"`
	// Brokers is the desired number of brokers (workers for ksqldb and connect);
	// ReadyBrokers how many of them are ready.
	Brokers      int    `json:"brokers"`
	ReadyBrokers int    `json:"readyBrokers"`
	Bootstrap    string `json:"bootstrap,omitempty"`
	// BootstrapHost is the name the cluster's certificate is verified against (the host of
	// Bootstrap, or the bootstrap DNS name where Bootstrap is an address: dev mode).
	BootstrapHost string `json:"bootstrapHost,omitempty"`
	// CACertificate is the cluster's CA (PEM): what a client trusts to connect over TLS.
	CACertificate string `json:"caCertificate,omitempty"`
	// CertificateSerial is the serial of the server certificate the cluster uses.
	CertificateSerial string      `json:"certificateSerial,omitempty"`
	Satellite         string      `json:"satellite,omitempty"`
	Reason            string      `json:"reason,omitempty"`
	Conditions        []Condition `json:"conditions,omitempty"`
	// Kafka is what Kafka itself reports of a Kafka cluster, as its satellite last read it
	// (nil until reported); on a shared cluster, the cluster's own share only.
	Kafka *KafkaNumbers `json:"kafka,omitempty"`
}

// KafkaNumbers are a Kafka cluster's partitions (those under-replicated, those offline)
// and the bytes its replicas take on disk. A shared cluster's tenant sees its own topics';
// offline partitions are counted for the whole shared cluster.
type KafkaNumbers struct {
	Partitions      int   `json:"partitions"`
	BytesOnDisk     int64 `json:"bytesOnDisk"`
	UnderReplicated int   `json:"underReplicated"`
	Offline         int   `json:"offline"`
	// MetadataVersion is the finalized metadata.version Kafka reports ("3.9-IV0"; empty
	// before the satellite read it).
	MetadataVersion string `json:"metadataVersion,omitempty"`
}

// Condition is a satellite-reported condition, Kubernetes style.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	ObservedGeneration int64     `json:"observedGeneration,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// Stalled reports whether the satellite declared the cluster's current generation
// impossible to converge (an invalid desired state, say): waiting longer will not help.
func (c *Cluster) Stalled() (bool, string) {
	for _, cond := range c.Status.Conditions {
		if cond.Type == "Stalled" && cond.Status == "True" && cond.ObservedGeneration >= c.Generation {
			return true, cond.Reason + ": " + cond.Message
		}
	}
	return false, ""
}

// ClusterSpec is what a user asks for: the body of POST /v1/clusters, and the spec of a
// document given to apply.
type ClusterSpec struct {
	Name    string `json:"name"`
	Product string `json:"product"`
	CKU     int    `json:"cku"`
	Region  string `json:"region"`
	// SKU, Cloud and Network have defaults (dedicated, aws, public).
	SKU     string `json:"sku,omitempty"`
	Cloud   string `json:"cloud,omitempty"`
	Network string `json:"network,omitempty"`
	// Kafka names the tenant's Kafka cluster a ksqldb or connect cluster works with (same
	// region); required for those products, not allowed for kafka.
	Kafka string `json:"kafka,omitempty"`
}

// ClusterUpdate is the body of PATCH /v1/clusters/{name}.
type ClusterUpdate struct {
	CKU *int `json:"cku,omitempty"`
	// Mitigation turns the satellite's automated mitigation of a dedicated cluster "on"
	// (the default) or "off".
	Mitigation *string `json:"mitigation,omitempty"`
}

// ApplyResult is one document's outcome in POST /v1/apply.
type ApplyResult struct {
	Name    string  `json:"name"`
	Action  string  `json:"action"` // created, configured or unchanged
	Cluster Cluster `json:"cluster"`
}

// Apply actions.
const (
	ActionCreated    = "created"
	ActionConfigured = "configured"
	ActionUnchanged  = "unchanged"
)

// Satellite is a satellite as the API reports it.
type Satellite struct {
	Name        string    `json:"name"`
	Region      string    `json:"region"`
	Cloud       string    `json:"cloud"`
	Networks    []string  `json:"networks"`
	Version     string    `json:"version,omitempty"`
	Simulated   bool      `json:"simulated,omitempty"`
	Connected   bool      `json:"connected"`
	HeartbeatAt time.Time `json:"heartbeatAt,omitzero"`
	Clusters    int       `json:"clusters"`
	Brokers     int       `json:"brokers"`
	// Capacity is what the satellite declares (0: no limit); Utilization the highest share
	// of any limit in use; NearCapacity is set above 80%.
	CapacityClusters int     `json:"capacityClusters,omitempty"`
	CapacityBrokers  int     `json:"capacityBrokers,omitempty"`
	Utilization      float64 `json:"utilization"`
	NearCapacity     bool    `json:"nearCapacity"`
}

// Controller is how far behind one of the mothership's event-driven controllers is: a fleet
// operator's view of whether the control plane has caught up with what was asked of it.
type Controller struct {
	Name string `json:"name"`
	// Pending events are in EVENTS and not yet delivered to the controller; Unacked ones are
	// delivered and wait for a reconcile to succeed; Queued ids wait for a worker.
	Pending uint64 `json:"pending"`
	Unacked int    `json:"unacked"`
	Queued  int    `json:"queued"`
}

// NearCapacityThreshold is the utilization above which the API flags a satellite.
const NearCapacityThreshold = 0.8

// Error is the body of every non-2xx response.
type Error struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ErrorBody wraps Error on the wire: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error codes.
const (
	CodeInvalid         = "invalid_argument"
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "permission_denied"
	CodeTooLarge        = "request_too_large"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
)

// APIKey describes an API key; Key is set only in the answer that creates it.
type APIKey struct {
	ID          string     `json:"id"`
	Tenant      string     `json:"tenant"`
	Role        string     `json:"role"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	Key         string     `json:"key,omitempty"`
}

// APIKeyRequest is the body of POST /v1/apikeys. Tenant may only be given by an operator
// (it is created if it does not exist); it defaults to the caller's.
type APIKeyRequest struct {
	Role        string `json:"role"`
	Description string `json:"description,omitempty"`
	Tenant      string `json:"tenant,omitempty"`
}

// KafkaAPIKey is an API key of one cluster, named ID: on a Kafka cluster a SCRAM-SHA-512
// user (Mechanism SCRAM-SHA-512); on a ksqlDB or Connect cluster a user of its REST API,
// HTTP basic authentication over HTTPS (Mechanism rest-md5 or rest-plain: the form its
// login module holds the secret in). Secret is set only in the answer that creates it: the
// mothership keeps only the credential derived from it, sealed.
type KafkaAPIKey struct {
	ID          string     `json:"id"`
	Cluster     string     `json:"cluster"`
	ClusterID   string     `json:"clusterId"`
	Mechanism   string     `json:"mechanism"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	Secret      string     `json:"secret,omitempty"`
}

// KafkaAPIKeyRequest is the body of POST /v1/clusters/{name}/api-keys.
type KafkaAPIKeyRequest struct {
	Description string `json:"description,omitempty"`
}

// HistoryEntry is one change to a cluster: who (the API key id), when, what, and the
// cluster's full state before and after.
type HistoryEntry struct {
	ClusterID string          `json:"clusterId"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after"`
}

// ProfileSpec is what the team running a product decides for a SKU: the body of
// PUT /v1/profiles/{product}/{sku}.
type ProfileSpec struct {
	// Version of the product software.
	Version string `json:"version"`
	// ReplicasPerCKU is how many brokers (or workers) one CKU buys.
	ReplicasPerCKU int `json:"replicasPerCKU"`
	// Controllers is the KRaft controller quorum size (kafka only).
	Controllers  int    `json:"controllers,omitempty"`
	StorageClass string `json:"storageClass,omitempty"`
	// StorageGiB is the volume size of each replica.
	StorageGiB int               `json:"storageGiB"`
	Config     map[string]string `json:"config,omitempty"`
	// TenantsPerCluster and TenantQuotas apply to the multi-tenant SKUs (basic, standard):
	// how many logical clusters share one physical cluster, and each one's share.
	TenantsPerCluster int           `json:"tenantsPerCluster,omitempty"`
	TenantQuotas      *TenantQuotas `json:"tenantQuotas,omitempty"`
	// ReplicationThrottleBytesPerSecond caps, per broker, how fast the satellite moves
	// replicas when it rebalances or drains (kafka only; 0: the satellite's default).
	ReplicationThrottleBytesPerSecond int64 `json:"replicationThrottleBytesPerSecond,omitempty"`
}

// TenantQuotas bound one tenant of a shared cluster (0: no limit). They are Kafka client
// quotas, set through the Admin API on each of the tenant's principals (its Kafka API keys);
// a tenant's rate is divided among its keys, so that together they never exceed it. There is
// no partition or connection limit: Kafka cannot enforce either per principal, and a check
// on Orbit's own paths (the CLI) would not bind any other Kafka client holding the same key.
type TenantQuotas struct {
	ProducerByteRate int64 `json:"producerByteRate,omitempty"`
	ConsumerByteRate int64 `json:"consumerByteRate,omitempty"`
}

// Profile is a product and SKU's current profile. Revision 0 is the built-in default.
type Profile struct {
	Product   string      `json:"product"`
	SKU       string      `json:"sku"`
	Revision  int64       `json:"revision"`
	Spec      ProfileSpec `json:"spec"`
	CreatedAt *time.Time  `json:"createdAt,omitempty"`
	CreatedBy string      `json:"createdBy,omitempty"`
	// Rollout is the rollout that setting this revision started.
	Rollout string `json:"rollout,omitempty"`
}

// Usage is what one cluster ran during one hour, metered from its actual state. On a
// shared (basic, standard) Kafka cluster, storage and partitions are the cluster's own
// topics' (logical bytes, one replica), as its satellite read them from Kafka.
type Usage struct {
	Hour            time.Time `json:"hour"`
	ClusterID       string    `json:"clusterId"`
	Cluster         string    `json:"cluster"`
	CKUHours        float64   `json:"ckuHours"`
	StorageGiBHours float64   `json:"storageGiBHours"`
	PartitionHours  float64   `json:"partitionHours"`
}

// Roles of an API key.
const (
	RoleAdmin    = "admin"    // everything on its tenant's clusters
	RoleViewer   = "viewer"   // reads on its tenant's clusters
	RoleOperator = "operator" // fleet-wide
)

// Layer is one layer of the mothership's start order, as /readyz reports it.
type Layer struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	// LeaderOnly layers run on the elected leader only; a replica is ready without them.
	LeaderOnly bool `json:"leaderOnly,omitempty"`
}

// Leader is who leads the mothership's replicas, as /readyz and GET /v1/leader report it.
type Leader struct {
	// Holder is the leading replica ("" while none does); Token its fencing token.
	Holder string `json:"holder"`
	Token  int64  `json:"token"`
	// ExpiresAt is when its lease runs out unless renewed.
	ExpiresAt time.Time `json:"expiresAt"`
	// Self is the replica that answered; Leading whether it leads.
	Self    string `json:"self"`
	Leading bool   `json:"leading"`
}
