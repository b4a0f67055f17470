package frontend

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// maxDescription bounds an API key's description.
const maxDescription = 200

func apiKeyView(k db.GetAPIKeyRow) api.APIKey {
	return api.APIKey{ID: k.ID, Tenant: k.TenantName, Role: k.Role, Description: k.Description,
		CreatedAt: db.Time(k.CreatedAt), RevokedAt: db.NullTime(k.RevokedAt)}
}

// createAPIKey mints a key. An admin mints admin and viewer keys for its own tenant; an
// operator mints any role for any tenant. The key is in this answer only: it is stored
// hashed.
func (f *Frontend) createAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	var req api.APIKeyRequest
	if err := decodeBody(r.Body, &req); err != nil {
		return err
	}
	switch req.Role {
	case api.RoleAdmin, api.RoleViewer:
	case api.RoleOperator:
		if p.Role != api.RoleOperator {
			return errForbidden
		}
	default:
		return invalid("role", "%q is not one of admin, viewer, operator", req.Role)
	}
	if len(req.Description) > maxDescription || strings.ContainsAny(req.Description, "\x00\n\r") {
		return invalid("description", "at most %d characters, on one line", maxDescription)
	}
	tenant := p.TenantName
	if req.Tenant != "" && req.Tenant != p.TenantName {
		if p.Role != api.RoleOperator {
			return errForbidden
		}
		if err := kv.ValidateName("tenant", req.Tenant); err != nil {
			return asFieldErr("", err)
		}
		tenant = req.Tenant
	}
	key := NewAPIKey()
	if err := EnsureAPIKey(r.Context(), f.store.Store(), tenant, req.Role, key, req.Description); err != nil {
		return err
	}
	row, err := f.store.Read().GetAPIKeyByHash(r.Context(), hashKey(key))
	if err != nil {
		return err
	}
	full, err := f.store.Read().GetAPIKey(r.Context(), row.ID)
	if err != nil {
		return err
	}
	out := apiKeyView(full)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (f *Frontend) listAPIKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	rows, err := f.store.Read().ListAPIKeys(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	out := make([]api.APIKey, 0, len(rows))
	for _, k := range rows {
		out = append(out, apiKeyView(db.GetAPIKeyRow(k)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeAPIKey revokes a key of the caller's tenant (an operator: of any tenant). Another
// tenant's key answers as if it did not exist.
func (f *Frontend) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var out api.APIKey
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		k, err := q.GetAPIKey(r.Context(), id)
		if errors.Is(err, db.ErrNotFound) || (err == nil && k.TenantID != p.TenantID && p.Role != api.RoleOperator) {
			return fmt.Errorf("%w: api key %q", errNotFound, id)
		}
		if err != nil {
			return err
		}
		if _, err := q.RevokeAPIKey(r.Context(), db.RevokeAPIKeyParams{ID: id, Now: db.Now()}); err != nil {
			return err
		}
		if k, err = q.GetAPIKey(r.Context(), id); err != nil {
			return err
		}
		out = apiKeyView(k)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
