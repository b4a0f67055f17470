package frontend

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/mothership/console"
	"github.com/orbitcp/orbit/mothership/internal/ids"
)

// ConsoleSessionTTL is how long a console login lasts.
const ConsoleSessionTTL = 12 * time.Hour

// principalKey carries a principal in a request's context: the console's in-process API
// calls, already authenticated by their session. Only this package can set it; a request
// from the network never has it.
type principalKey struct{}

// consoleBackend is the console's way into the API: sessions in console_sessions, and API
// calls served by the API's own handlers as the session's principal.
type consoleBackend struct {
	f   *Frontend
	api http.Handler
}

var _ console.Backend = consoleBackend{}

func (b consoleBackend) Login(ctx context.Context, key string) (console.Session, error) {
	p, err := b.f.keyPrincipal(ctx, key)
	if errors.Is(err, errUnauthenticated) {
		return console.Session{}, console.ErrUnauthenticated
	}
	if err != nil {
		return console.Session{}, err
	}
	id := newSessionID()
	now := time.Now()
	err = b.f.store.InTx(ctx, func(q frontenddb.Queries) error {
		if _, err := q.DeleteExpiredConsoleSessions(ctx, db.Now()); err != nil {
			return err
		}
		return q.InsertConsoleSession(ctx, db.InsertConsoleSessionParams{
			IDHash: hashKey(id), ApiKeyID: p.KeyID, CreatedAt: now.UnixMilli(), ExpiresAt: now.Add(ConsoleSessionTTL).UnixMilli(),
		})
	})
	if err != nil {
		return console.Session{}, fmt.Errorf("console session: %w", err)
	}
	return console.Session{ID: id, Principal: consolePrincipal(p)}, nil
}

func (b consoleBackend) Resume(ctx context.Context, id string) (console.Session, error) {
	row, err := b.f.store.Read().GetConsoleSession(ctx, db.GetConsoleSessionParams{IDHash: hashKey(id), Now: db.Now()})
	if errors.Is(err, db.ErrNotFound) {
		return console.Session{}, console.ErrNoSession
	}
	if err != nil {
		return console.Session{}, err
	}
	p := &principal{KeyID: row.ApiKeyID, TenantID: row.TenantID, TenantName: row.TenantName, Role: row.Role}
	return console.Session{ID: id, Principal: consolePrincipal(p)}, nil
}

func (b consoleBackend) Logout(ctx context.Context, id string) error {
	return b.f.store.InTx(ctx, func(q frontenddb.Queries) error {
		_, err := q.DeleteConsoleSession(ctx, hashKey(id))
		return err
	})
}

// Call serves the request through the API's handlers with the session's principal in the
// context, where authed takes it instead of an Authorization header.
func (b consoleBackend) Call(ctx context.Context, s console.Session, method, path string, body []byte) (int, []byte) {
	p := &principal{KeyID: s.KeyID, TenantID: s.TenantID, TenantName: s.Tenant, Role: s.Role}
	var rb io.Reader = http.NoBody
	if body != nil {
		rb = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, principalKey{}, p), method, path, rb)
	if err != nil {
		return http.StatusBadRequest, nil
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	b.api.ServeHTTP(rec, r)
	return rec.code, rec.body.Bytes()
}

func consolePrincipal(p *principal) console.Principal {
	return console.Principal{KeyID: p.KeyID, TenantID: p.TenantID, Tenant: p.TenantName, Role: p.Role}
}

// newSessionID is a session's secret: 256 random bits, like an API key only ever stored
// as its SHA-256.
func newSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return ids.LowerBase32.EncodeToString(b[:])
}

// recorder is the response writer of an in-process API call.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
