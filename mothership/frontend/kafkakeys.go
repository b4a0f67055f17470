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

// API keys of a cluster: on a Kafka cluster each one a SCRAM-SHA-512 user; on a ksqlDB or
// Connect cluster a user of its REST API (HTTP basic authentication over HTTPS). The secret
// is made here, handed out once in the answer that creates it, and forgotten: what is stored
// is the credential derived from it, sealed to the mothership's own curve key (Kafka: the
// SCRAM credential, random salt, kv.SCRAMIterations; ksqlDB: Jetty's MD5: credential;
// Connect: the secret itself, which its login module compares in plain; see
// kv.MechanismRESTMD5). The credentials publisher seals it again to the satellite running
// the cluster. Both kinds share the kafka_api_keys table, told apart by mechanism.

// kafkaKeyPrefix starts every Kafka API key id (its SCRAM user name); restKeyPrefix every
// ksqlDB or Connect REST key id (its REST user name).
const (
	kafkaKeyPrefix = "kk"
	restKeyPrefix  = "rk"
)

func kafkaKeyView(k db.KafkaApiKey, cluster string) api.KafkaAPIKey {
	return api.KafkaAPIKey{ID: k.ID, Cluster: cluster, ClusterID: k.LogicalClusterID, Mechanism: k.Mechanism,
		Description: k.Description, CreatedAt: db.Time(k.CreatedAt), RevokedAt: db.NullTime(k.RevokedAt)}
}

// newKafkaSecret returns an API key's secret: 256 random bits.
func newKafkaSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return ids.LowerBase32.EncodeToString(b[:])
}

// keyCluster finds the caller's live cluster named in the path; anything else (another
// tenant's, a deleted one) is not found. Every product has API keys.
func keyCluster(ctx context.Context, q frontenddb.Queries, r *http.Request, p *principal) (db.LogicalCluster, error) {
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
	if l.Product != string(kv.ProductKafka) && kv.RESTMechanism(kv.Product(l.Product)) == "" {
		return l, invalid("name", "%q is a %s cluster, which has no API keys", name, l.Product)
	}
	return l, nil
}

// newKeyCredential makes a key id, its secret and the credential the cluster's product
// needs.
func newKeyCredential(product string) (id, secret string, cred *kv.KafkaCredential, err error) {
	secret = newKafkaSecret()
	if mech := kv.RESTMechanism(kv.Product(product)); mech != "" {
		id = ids.New(restKeyPrefix)
		cred, err = kv.NewRESTCredential(id, secret, mech)
		return id, secret, cred, err
	}
	id = ids.New(kafkaKeyPrefix)
	cred, err = kv.NewKafkaCredential(id, secret)
	return id, secret, cred, err
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
	var (
		out    api.KafkaAPIKey
		secret string
	)
	err = f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		l, err := keyCluster(r.Context(), q, r, p)
		if err != nil {
			return err
		}
		var (
			id   string
			cred *kv.KafkaCredential
		)
		id, secret, cred, err = newKeyCredential(l.Product)
		if err != nil {
			return err
		}
		sealed, err := cred.Seal(f.credentialKey, sealedBy)
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
	l, err := keyCluster(r.Context(), q, r, p)
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
		l, err := keyCluster(r.Context(), q, r, p)
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
