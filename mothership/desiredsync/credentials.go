package desiredsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/events"
)

// Credentials: for each placed physical cluster, the service puts every live key of its
// live tenants into the credentials bucket under <satellite>.<product>.<cluster>.<key>
// (Kafka: SCRAM credentials; ksqlDB and Connect: REST users),
// opened from the database's sealed form (sealed to the control plane's curve key) and
// sealed again to the satellite's curve key, and deletes the keys that are no longer live
// (revoked, or of a deleted tenant). A key whose value is sealed to the satellite's current
// curve key is left alone (sealing is randomised: comparing bytes would rewrite it on every
// resync); a satellite re-onboarded with a new curve key gets every key sealed anew.

// MapEvent maps an EVENTS id to the physical clusters to reconcile: a Kafka API key's
// event names its logical cluster, which maps to its physical cluster.
func (s *Service) MapEvent(ctx context.Context, resource, id string) ([]string, error) {
	if resource != events.ResourceKafkaKey {
		return []string{id}, nil
	}
	t, err := s.store.Read().GetTenancy(ctx, id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil // not on a physical cluster yet: its tenancy's events will come
	}
	if err != nil {
		return nil, err
	}
	return []string{t.PhysicalClusterID}, nil
}

// syncCredentials converges one physical cluster's keys in the credentials bucket.
func (s *Service) syncCredentials(ctx context.Context, p db.PhysicalCluster, satellite string) error {
	if s.credentials == nil || s.credentialKey == nil {
		return nil
	}
	product := kv.Product(p.Product)
	if product.Validate("product") != nil {
		return nil
	}
	q := s.store.Read()
	var live []db.KafkaApiKey
	recipient := ""
	if !p.DeletedAt.Valid {
		var err error
		if live, err = q.ListLiveKafkaAPIKeysByPhysical(ctx, p.ID); err != nil {
			return err
		}
		recipient, err = q.GetSatelliteCurveKey(ctx, satellite)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if recipient == "" && len(live) > 0 {
			s.log.Warn("satellite has no curve key: its clusters get no credentials until it is onboarded again",
				"satellite", satellite, "cluster", p.ID)
			live = nil
		}
	}
	prefix := kv.CredentialPrefix(satellite, product, p.ID)
	have, err := s.credentialKeys(ctx, prefix)
	if err != nil {
		return err
	}
	sender, err := s.credentialKey.PublicKey()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, k := range live {
		key := prefix + k.ID
		want[key] = true
		if err := s.putCredential(ctx, k, key, satellite, product, p.ID, sender, recipient); err != nil {
			return err
		}
	}
	for _, key := range have {
		if !want[key] {
			if err := s.credentials.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("delete credential %s: %w", key, err)
			}
		}
	}
	return nil
}

// putCredential puts one key's credential sealed to recipient, unless it is there already.
func (s *Service) putCredential(ctx context.Context, k db.KafkaApiKey, key, satellite string, product kv.Product, cluster, sender, recipient string) error {
	entry, err := s.credentials.Get(ctx, key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	if err == nil {
		if cur, derr := kv.DecodeSealedCredential(entry.Value()); derr == nil && cur.Recipient == recipient && cur.Sender == sender {
			return nil
		}
	}
	cred, err := kv.OpenKafkaCredential(k.Sealed, s.credentialKey, k.SealedBy)
	if err != nil {
		// A key sealed by another control plane's curve key: it cannot be used here.
		s.log.Warn("api key does not open with this control plane's credential key; re-issue it",
			"key", k.ID, "sealed_by", k.SealedBy)
		return nil
	}
	sealed, err := cred.Seal(s.credentialKey, recipient)
	if err != nil {
		return err
	}
	if product == kv.ProductKafka {
		product = "" // as Kafka credentials were written before REST keys
	}
	value, err := kv.Encode(&kv.SealedCredential{SchemaVersion: kv.SchemaVersion, Satellite: satellite, Product: product, Cluster: cluster,
		KeyID: k.ID, LogicalCluster: k.LogicalClusterID, Sender: sender, Recipient: recipient, Sealed: sealed})
	if err != nil {
		return err
	}
	if entry == nil {
		_, err = s.credentials.Create(ctx, key, value)
	} else {
		_, err = s.credentials.Update(ctx, key, value, entry.Revision())
	}
	if err != nil {
		return fmt.Errorf("put credential %s: %w", key, err)
	}
	return nil
}

// credentialKeys lists the bucket's keys under prefix.
func (s *Service) credentialKeys(ctx context.Context, prefix string) ([]string, error) {
	lister, err := s.credentials.ListKeysFiltered(ctx, prefix+"*")
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range lister.Keys() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}
