package frontend

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/ids"
)

// Kafka API keys: each one a SCRAM-SHA-512 user of one Kafka cluster. The secret is made
// here, handed out once in the answer that creates it, and forgotten: what is stored is the
// SCRAM credential derived from it (random salt, kv.SCRAMIterations), sealed to the
// mothership's own curve key. The credentials publisher seals it again to the satellite
// running the cluster.

// kafkaKeyPrefix starts every Kafka API key id (its SCRAM user name).
const kafkaKeyPrefix = "kk"

func kafkaKeyView(k db.KafkaApiKey, cluster string) api.KafkaAPIKey {
	return api.KafkaAPIKey{ID: k.ID, Cluster: cluster, ClusterID: k.LogicalClusterID, Mechanism: k.Mechanism,
		Description: k.Description, CreatedAt: db.Time(k.CreatedAt), RevokedAt: db.NullTime(k.RevokedAt)}
}

// newKafkaSecret returns a Kafka API key's secret: 256 random bits.
func newKafkaSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return ids.LowerBase32.EncodeToString(b[:])
}

// kafkaCluster finds the caller's live Kafka cluster named in the path; anything else
// (another tenant's, a deleted one) is not found.
func kafkaCluster(ctx context.Context, q frontenddb.Queries, r *http.Request, p *principal) (db.LogicalCluster, error) {
	name, err := pathName(r)
	if err != nil {
		return db.LogicalCluster{}, err
	}
	l, err := liveCluster(ctx, q, p.TenantID, name)
	if errors.Is(err, errNotFound) {
		return l, &notFoundErr{field: "name", err: err}
	}
	if err != nil {
		return l, err
	}
	if l.Product != string(kv.ProductKafka) {
		return l, invalid("name", "%q is a %s cluster; Kafka API keys belong to kafka clusters", name, l.Product)
	}
	return l, nil
}

func (f *Frontend) createKafkaKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	if f.credentialKey == nil {
		return errors.New("kafka api keys: the mothership has no credential key")
	}
	var req api.KafkaAPIKeyRequest
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	if len(req.Description) > maxDescription || strings.ContainsAny(req.Description, "\x00\n\r") {
		return invalid("description", "at most %d characters, on one line", maxDescription)
	}
	sealedBy, err := f.credentialKey.PublicKey()
	if err != nil {
		return err
	}
	id, secret := ids.New(kafkaKeyPrefix), newKafkaSecret()
	cred, err := kv.NewKafkaCredential(id, secret)
	if err != nil {
		return err
	}
	sealed, err := cred.Seal(f.credentialKey, sealedBy)
	if err != nil {
		return err
	}
	var out api.KafkaAPIKey
	err = f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		l, err := kafkaCluster(r.Context(), q, r, p)
		if err != nil {
			return err
		}
		if err := q.InsertKafkaAPIKey(r.Context(), db.InsertKafkaAPIKeyParams{ID: id, LogicalClusterID: l.ID, TenantID: l.TenantID,
			Description: req.Description, Mechanism: cred.Mechanism, Iterations: int64(cred.Iterations), Sealed: sealed,
			SealedBy: sealedBy, CreatedAt: db.Now()}); err != nil {
			return err
		}
		if err := events.Append(r.Context(), q, &events.KafkaKey{ID: id, LogicalCluster: l.ID, TenantID: l.TenantID,
			Action: "create", Actor: p.KeyID}); err != nil {
			return err
		}
		k, err := q.GetKafkaAPIKey(r.Context(), id)
		out = kafkaKeyView(k, l.Name)
		return err
	})
	if err != nil {
		return err
	}
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (f *Frontend) listKafkaKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := f.store.Read()
	l, err := kafkaCluster(r.Context(), q, r, p)
	if err != nil {
		return err
	}
	rows, err := q.ListKafkaAPIKeys(r.Context(), l.ID)
	if err != nil {
		return err
	}
	out := make([]api.KafkaAPIKey, 0, len(rows))
	for _, k := range rows {
		out = append(out, kafkaKeyView(k, l.Name))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeKafkaKey revokes a key of the named cluster; a key of another cluster (or tenant)
// answers as if it did not exist. Revoking twice answers the revoked key again.
func (f *Frontend) revokeKafkaKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := kv.ValidateName("id", id); err != nil {
		return asFieldErr("", err)
	}
	var out api.KafkaAPIKey
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		l, err := kafkaCluster(r.Context(), q, r, p)
		if err != nil {
			return err
		}
		k, err := q.GetKafkaAPIKey(r.Context(), id)
		if errors.Is(err, db.ErrNotFound) || (err == nil && k.LogicalClusterID != l.ID) {
			return &notFoundErr{field: "id", err: fmt.Errorf("%w: kafka api key %q", errNotFound, id)}
		}
		if err != nil {
			return err
		}
		n, err := q.RevokeKafkaAPIKey(r.Context(), db.RevokeKafkaAPIKeyParams{ID: id, Now: db.Now()})
		if err != nil {
			return err
		}
		if n > 0 {
			if err := events.Append(r.Context(), q, &events.KafkaKey{ID: id, LogicalCluster: l.ID, TenantID: l.TenantID,
				Action: "revoke", Actor: p.KeyID}); err != nil {
				return err
			}
		}
		if k, err = q.GetKafkaAPIKey(r.Context(), id); err != nil {
			return err
		}
		out = kafkaKeyView(k, l.Name)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
