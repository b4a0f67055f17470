// Package events is the contract between the mothership's services on the EVENTS stream:
// the resources an event can name, and the payload each one carries. The outbox relay
// publishes what the writers append (subject events.<resource>.<id>); controllers react to
// the subject and re-read the latest state from SQL, so a payload is a record of what
// happened (for operators and audits), never the input of a reconcile.
//
// Payloads are versioned like the kv values: every payload carries "v". A reader decodes
// any version up to its own and ignores fields it does not know, so a rolling upgrade in
// which a newer writer adds a field keeps older readers working; a change that older
// readers would misread takes a new version.
//
//	resource   writer (appends in its own transaction)   payload
//	logical    frontend                                  Logical
//	profile    frontend                                  Profile
//	kafkakey   frontend                                  KafkaKey
//	physical   physical controller                       Physical
//	placement  scheduler                                 Placement
//	target     rollout controller                        Target
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
)

// Version is the payload version this build writes and the newest it reads.
const Version = 1

// The resources events name.
const (
	ResourceLogical   = "logical"
	ResourcePhysical  = "physical"
	ResourcePlacement = "placement"
	ResourceProfile   = "profile"
	ResourceKafkaKey  = "kafkakey"
	ResourceTarget    = "target"
)

// Event is a payload that knows its subject.
type Event interface {
	Subject() string
	stamp() // sets the payload's version
}

// Append appends ev to the outbox inside the caller's transaction, stamped with this
// build's version.
func Append(ctx context.Context, q db.OutboxWriter, ev Event) error {
	ev.stamp()
	return db.Enqueue(ctx, q, ev.Subject(), ev)
}

func (e *Logical) stamp()   { e.V = Version }
func (e *Physical) stamp()  { e.V = Version }
func (e *Placement) stamp() { e.V = Version }
func (e *Profile) stamp()   { e.V = Version }
func (e *KafkaKey) stamp()  { e.V = Version }
func (e *Target) stamp()    { e.V = Version }

// Target says that a rollout moved a physical cluster to a profile revision.
type Target struct {
	V                 int    `json:"v"`
	PhysicalClusterID string `json:"physicalClusterId"`
	Revision          int64  `json:"revision"`
	Rollout           string `json:"rollout"`
	// MetadataVersion is the metadata.version level a finalized rollout asks for (0: the
	// event moves the revision only).
	MetadataVersion int64 `json:"metadataVersion,omitempty"`
}

// Subject implements Event: events.target.<physical cluster id>.
func (e *Target) Subject() string { return kv.EventSubject(ResourceTarget, e.PhysicalClusterID) }

// KafkaKey says that a Kafka API key of a logical cluster was created or revoked.
type KafkaKey struct {
	V              int    `json:"v"`
	ID             string `json:"id"`
	LogicalCluster string `json:"logicalCluster"`
	TenantID       string `json:"tenantId"`
	Action         string `json:"action"`
	Actor          string `json:"actor,omitempty"`
}

// Subject implements Event: a key's events are subjects of its logical cluster, so that
// one consumer of the cluster sees them in order.
func (e *KafkaKey) Subject() string { return kv.EventSubject(ResourceKafkaKey, e.LogicalCluster) }

// Logical is the full state of a logical cluster after a user's action.
type Logical struct {
	V          int    `json:"v"`
	ID         string `json:"id"`
	TenantID   string `json:"tenantId"`
	Name       string `json:"name"`
	Product    string `json:"product"`
	SKU        string `json:"sku"`
	CKU        int64  `json:"cku"`
	Region     string `json:"region"`
	Cloud      string `json:"cloud"`
	Network    string `json:"network"`
	KafkaID    string `json:"kafkaId,omitempty"`
	TLSSerial  int64  `json:"tlsSerial"`
	Mitigation string `json:"mitigation,omitempty"`
	Generation int64  `json:"generation"`
	UpdatedAt  int64  `json:"updatedAt"`
	DeletedAt  *int64 `json:"deletedAt,omitempty"`
	// Action and Actor say what happened and which API key did it.
	Action string `json:"action,omitempty"`
	Actor  string `json:"actor,omitempty"`
}

// Subject implements Event.
func (e *Logical) Subject() string { return kv.EventSubject(ResourceLogical, e.ID) }

// Physical says that a physical cluster moved to a new generation, which carries the
// named logical cluster's generation.
type Physical struct {
	V                 int    `json:"v"`
	ID                string `json:"id"`
	Product           string `json:"product"`
	SKU               string `json:"sku"`
	Region            string `json:"region"`
	Generation        int64  `json:"generation"`
	Replicas          int64  `json:"replicas"`
	Version           string `json:"version"`
	Deleted           bool   `json:"deleted,omitempty"`
	LogicalCluster    string `json:"logicalCluster"`
	LogicalGeneration int64  `json:"logicalGeneration"`
}

// Subject implements Event.
func (e *Physical) Subject() string { return kv.EventSubject(ResourcePhysical, e.ID) }

// Placement says where a physical cluster was placed, or why it is still pending
// (Satellite empty).
type Placement struct {
	V                 int       `json:"v"`
	PhysicalClusterID string    `json:"physicalClusterId"`
	Satellite         string    `json:"satellite,omitempty"`
	Reason            string    `json:"reason"`
	At                time.Time `json:"at"`
}

// Subject implements Event.
func (e *Placement) Subject() string { return kv.EventSubject(ResourcePlacement, e.PhysicalClusterID) }

// Profile says that an operator set a new revision of a product and SKU's profile.
type Profile struct {
	V        int       `json:"v"`
	Product  string    `json:"product"`
	SKU      string    `json:"sku"`
	Revision int64     `json:"revision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Subject implements Event: events.profile.<product>-<sku>.
func (e *Profile) Subject() string {
	return kv.EventSubject(ResourceProfile, ProfileID(e.Product, e.SKU))
}

// ProfileID names a product and SKU's profile in a subject.
func ProfileID(product, sku string) string { return product + "-" + sku }

// Decode decodes the payload of an event published under subject.
func Decode(subject string, data []byte) (Event, error) {
	resource, _, err := kv.ParseEventSubject(subject)
	if err != nil {
		return nil, err
	}
	var ev Event
	switch resource {
	case ResourceLogical:
		ev = &Logical{}
	case ResourcePhysical:
		ev = &Physical{}
	case ResourcePlacement:
		ev = &Placement{}
	case ResourceProfile:
		ev = &Profile{}
	case ResourceTarget:
		ev = &Target{}
	default:
		return nil, fmt.Errorf("events: unknown resource %q", resource)
	}
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("events: %s: %w", subject, err)
	}
	if head.V < 1 || head.V > Version {
		return nil, fmt.Errorf("events: %s: version %d (this build reads 1 to %d)", subject, head.V, Version)
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("events: %s: %w", subject, err)
	}
	if ev.Subject() != subject {
		return nil, fmt.Errorf("events: payload of %s names %s", subject, ev.Subject())
	}
	return ev, nil
}
