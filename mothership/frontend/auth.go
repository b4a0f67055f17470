package frontend

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/ids"
)

// APIKeyPrefix starts every API key, so that a leaked key is easy to recognise.
const APIKeyPrefix = "orbit_"

// NewAPIKey returns a fresh random API key (160 bits of entropy).
func NewAPIKey() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return APIKeyPrefix + ids.LowerBase32.EncodeToString(b[:])
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

// authenticate resolves the request's API key, or takes the principal of a console
// session's in-process call.
func (f *Frontend) authenticate(r *http.Request) (*principal, error) {
	if p, ok := r.Context().Value(principalKey{}).(*principal); ok {
		return p, nil
	}
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		return nil, errUnauthenticated
	}
	return f.keyPrincipal(r.Context(), key)
}

// keyPrincipal resolves an API key.
func (f *Frontend) keyPrincipal(ctx context.Context, key string) (*principal, error) {
	row, err := f.store.Read().GetAPIKeyByHash(ctx, hashKey(key))
	if errors.Is(err, db.ErrNotFound) {
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
func EnsureAPIKey(ctx context.Context, store *db.Store, tenant, role, key, description string) error {
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) < len(APIKeyPrefix)+16 {
		return errors.New("api key: must start with " + APIKeyPrefix + " and have at least 16 more characters")
	}
	if err := kv.ValidateName("tenant", tenant); err != nil {
		return err
	}
	switch role {
	case api.RoleAdmin, api.RoleViewer, api.RoleOperator:
	default:
		return errors.New("api key: role must be admin, viewer or operator")
	}
	return frontenddb.New(store).InTx(ctx, func(q frontenddb.Queries) error {
		t, err := q.GetTenantByName(ctx, tenant)
		if errors.Is(err, db.ErrNotFound) {
			t = db.Tenant{ID: ids.New("t"), Name: tenant, CreatedAt: db.Now()}
			if err := q.InsertTenant(ctx, db.InsertTenantParams{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}); err != nil {
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
		if !errors.Is(err, db.ErrNotFound) {
			return err
		}
		return q.InsertAPIKey(ctx, db.InsertAPIKeyParams{
			ID: ids.New("key"), TenantID: t.ID, Role: role, Description: description,
			SecretHash: hashKey(key), CreatedAt: db.Now(),
		})
	})
}
