// Package desiredsync is the sync service: it renders each placed physical cluster into a
// PSC and puts it into the desired bucket under <satellite>.<product>.<id>, and puts each
// Kafka cluster's live API keys, sealed to its satellite's curve key, into the credentials
// bucket under <satellite>.kafka.<id>.<key-id>. It is both buckets' only writer and writes
// no table (it reads through db/syncdb). Leader-only.
package desiredsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/syncdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/internal/controller"
	"github.com/orbitcp/orbit/mothership/internal/profile"
)

// Service renders each placed physical cluster into a PSC and puts it into the desired
// bucket under <satellite>.<product>.<id>. It is the bucket's only writer; it writes with
// compare-and-set on the key's revision and skips a put that would not change the value, so
// a resync writes nothing.
type Service struct {
	store         syncdb.Store
	credentialKey nkeys.KeyPair
	log           *slog.Logger
	desired       jetstream.KeyValue
	credentials   jetstream.KeyValue
}

// New returns the service; Start binds it to its buckets. credentialKey is the control
// plane's curve key pair (nil: no credentials are published).
func New(s *db.Store, credentialKey nkeys.KeyPair, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: syncdb.New(s), credentialKey: credentialKey, log: log}
}

// Start binds the service to the desired and credentials buckets.
func (s *Service) Start(ctx context.Context, js jetstream.JetStream) error {
	b, err := js.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		return err
	}
	c, err := js.KeyValue(ctx, kv.BucketCredentials)
	if err != nil {
		return err
	}
	s.desired, s.credentials = b, c
	return nil
}

// ListIDs lists every physical cluster, for a resync.
func (s *Service) ListIDs(ctx context.Context) ([]string, error) {
	return s.store.Read().ListPhysicalClusterIDs(ctx)
}

// Reconcile puts one physical cluster's PSC into the desired bucket, if it changed.
func (s *Service) Reconcile(ctx context.Context, physicalID string) error {
	q := s.store.Read()
	p, err := q.GetPhysicalCluster(ctx, physicalID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	pl, err := q.GetPlacement(ctx, physicalID)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !pl.Satellite.Valid) {
		return nil // not placed yet
	}
	if err != nil {
		return err
	}
	if err := s.syncCredentials(ctx, p, pl.Satellite.String); err != nil {
		return fmt.Errorf("credentials of %s: %w", p.ID, err)
	}
	kafkaLogical, err := workerTenant(ctx, q, p)
	if err != nil {
		return err
	}
	psc, err := RenderPSC(p, pl.Satellite.String, kafkaLogical)
	if err != nil {
		return fmt.Errorf("%w: %v", controller.ErrTerminal, err)
	}
	value, err := kv.Encode(psc)
	if err != nil {
		return fmt.Errorf("%w: rendering PSC of %s: %v", controller.ErrTerminal, p.ID, err)
	}
	key := psc.Key().String()
	entry, err := s.desired.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err = s.desired.Create(ctx, key, value)
	case err != nil:
		return err
	case bytes.Equal(entry.Value(), value):
		return nil
	default:
		if cur, derr := kv.DecodePSC(entry.Value()); derr == nil && cur.Generation > psc.Generation {
			return nil // never go back to an older generation
		}
		_, err = s.desired.Update(ctx, key, value, entry.Revision())
	}
	if err != nil {
		return fmt.Errorf("put desired %s: %w", key, err)
	}
	return nil
}

// workerTenant is the logical Kafka cluster a ksqldb or connect physical cluster works for
// when its Kafka is a shared (basic, standard) one: the tenant whose prefix its principal
// may use (kv.KafkaRef.Logical). "" otherwise.
func workerTenant(ctx context.Context, q syncdb.Queries, p db.PhysicalCluster) (string, error) {
	if !p.KafkaPhysicalID.Valid {
		return "", nil
	}
	k, err := q.GetPhysicalCluster(ctx, p.KafkaPhysicalID.String)
	if errors.Is(err, db.ErrNotFound) || (err == nil && !profile.MultiTenant(k.Sku)) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	logical, err := q.ListTenancyLogicalIDs(ctx, p.ID)
	if err != nil || len(logical) != 1 {
		return "", err // a worker is dedicated: one logical cluster, once placed
	}
	l, err := q.GetLogicalCluster(ctx, logical[0])
	if errors.Is(err, db.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return l.KafkaClusterID.String, nil
}

// RenderPSC maps a physical cluster row and its placement to the desired-state value;
// kafkaLogical is the tenant a ksqldb or connect cluster works for on a shared Kafka
// cluster (workerTenant).
func RenderPSC(p db.PhysicalCluster, satellite, kafkaLogical string) (*kv.PSC, error) {
	cfg, err := config(p)
	if err != nil {
		return nil, err
	}
	psc := &kv.PSC{
		SchemaVersion: kv.SchemaVersion,
		ID:            p.ID,
		Satellite:     satellite,
		Product:       kv.Product(p.Product),
		Generation:    p.Generation,
		Deleted:       p.DeletedAt.Valid,
		Spec: kv.PSCSpec{
			Version:     p.Version,
			Replicas:    int32(p.Replicas),
			Controllers: int32(p.Controllers),
			Storage:     kv.Storage{Class: p.StorageClass, SizeGiB: int32(p.StorageGib)},
			Config:      cfg,
			TLSSerial:   p.TlsSerial,
			Mitigation:  p.Mitigation,
			// The replication throttle of the cluster's profile (0: the satellite's default).
			ReplicationThrottle: p.ReplicationThrottle,
			// The KRaft id of a Kafka cluster (the satellite formats its storage with it).
			KafkaClusterID:  p.KraftClusterID,
			ProfileRevision: p.ProfileRevision,
			// The metadata.version level a finalized rollout asks for (0: none).
			MetadataVersion: int16(p.MetadataVersion),
		},
	}
	if p.KafkaPhysicalID.Valid {
		psc.Spec.Kafka = &kv.KafkaRef{ID: p.KafkaPhysicalID.String, Logical: kafkaLogical}
	}
	if err := json.Unmarshal([]byte(p.Tenants), &psc.Spec.Tenants); err != nil {
		return nil, fmt.Errorf("physical cluster %s: tenants: %w", p.ID, err)
	}
	if len(psc.Spec.Tenants) == 0 {
		psc.Spec.Tenants = nil
	}
	if p.DeletedAt.Valid && p.PurgeAfter.Valid {
		t := time.UnixMilli(p.PurgeAfter.Int64).UTC()
		psc.PurgeAfter = &t
	}
	return psc, nil
}

// config decodes a physical cluster's stored configuration.
func config(p db.PhysicalCluster) (map[string]string, error) {
	var cfg map[string]string
	if err := json.Unmarshal([]byte(p.Config), &cfg); err != nil {
		return nil, fmt.Errorf("physical cluster %s: config: %w", p.ID, err)
	}
	return cfg, nil
}
