package mothership

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"net/http"
	"strings"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
)

// Roles of an API key.
const (
	RoleAdmin    = "admin"    // everything on its tenant's clusters
	RoleViewer   = "viewer"   // reads on its tenant's clusters
	RoleOperator = "operator" // fleet-wide
)

// APIKeyPrefix starts every API key, so that a leaked key is easy to recognise.
const APIKeyPrefix = "orbit_"

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKey returns a fresh random API key (160 bits of entropy).
func NewAPIKey() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return APIKeyPrefix + lowerBase32.EncodeToString(b[:])
}

func randomID(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + lowerBase32.EncodeToString(b[:])
}

// hashKey is how keys are stored: a key has enough entropy that a plain SHA-256 is as good
// as a slow hash, and it lets the lookup be an index probe.
func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// principal is who a request comes from.
type principal struct {
	KeyID      string
	TenantID   string
	TenantName string
	Role       string
}

var (
	errUnauthenticated = errors.New("a valid API key is required (Authorization: Bearer <key>)")
	errForbidden       = errors.New("this API key may not do that")
)

// authenticate resolves the request's API key.
func (f *frontend) authenticate(r *http.Request) (*principal, error) {
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		return nil, errUnauthenticated
	}
	row, err := f.store.Q().GetAPIKeyByHash(r.Context(), hashKey(key))
	if db.NotFound(err) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if row.RevokedAt.Valid {
		return nil, errUnauthenticated
	}
	return &principal{KeyID: row.ID, TenantID: row.TenantID, TenantName: row.TenantName, Role: row.Role}, nil
}

// EnsureAPIKey makes key a valid key of the given role for tenant, creating the tenant if
// needed. It is idempotent: mothership dev calls it on every start with its dev key.
func (m *Mothership) EnsureAPIKey(ctx context.Context, tenant, role, key, description string) error {
	return EnsureAPIKey(ctx, m.cfg.Store, tenant, role, key, description)
}

// EnsureAPIKey is Mothership.EnsureAPIKey on a store that no mothership runs on yet.
func EnsureAPIKey(ctx context.Context, store *db.Store, tenant, role, key, description string) error {
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) < len(APIKeyPrefix)+16 {
		return errors.New("api key: must start with " + APIKeyPrefix + " and have at least 16 more characters")
	}
	if err := kv.ValidateName("tenant", tenant); err != nil {
		return err
	}
	switch role {
	case RoleAdmin, RoleViewer, RoleOperator:
	default:
		return errors.New("api key: role must be admin, viewer or operator")
	}
	return store.InTx(ctx, func(q db.Querier) error {
		t, err := q.GetTenantByName(ctx, tenant)
		if db.NotFound(err) {
			t = sqlitegen.Tenant{ID: randomID("t"), Name: tenant, CreatedAt: db.Now()}
			if err := q.InsertTenant(ctx, sqlitegen.InsertTenantParams{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		existing, err := q.GetAPIKeyByHash(ctx, hashKey(key))
		if err == nil {
			if existing.TenantID != t.ID || existing.Role != role || existing.RevokedAt.Valid {
				return errors.New("api key: already in use with another tenant or role, or revoked")
			}
			return nil
		}
		if !db.NotFound(err) {
			return err
		}
		return q.InsertAPIKey(ctx, sqlitegen.InsertAPIKeyParams{
			ID: randomID("key"), TenantID: t.ID, Role: role, Description: description,
			SecretHash: hashKey(key), CreatedAt: db.Now(),
		})
	})
}
