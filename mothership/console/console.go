package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Principal is who a session acts as: its API key, tenant and role.
type Principal struct {
	KeyID    string
	TenantID string
	Tenant   string
	Role     string
}

// mayChange reports whether the role may take actions on clusters (the API's admin level).
func (p Principal) mayChange() bool { return p.Role == api.RoleAdmin || p.Role == api.RoleOperator }

// Session is a logged-in browser. ID is the secret the cookie carries.
type Session struct {
	ID string
	Principal
}

// Errors a Backend returns.
var (
	// ErrUnauthenticated: the API key given at login is not a valid, unrevoked key.
	ErrUnauthenticated = errors.New("not a valid API key")
	// ErrNoSession: the session id names no live session (logged out, expired, key revoked).
	ErrNoSession = errors.New("no such session")
)

// Backend is what the console needs from the API: sessions, and API calls made as a
// session's principal through the API's own handlers.
type Backend interface {
	// Login exchanges an API key for a new session.
	Login(ctx context.Context, apiKey string) (Session, error)
	// Resume returns the live session of that id, or ErrNoSession.
	Resume(ctx context.Context, id string) (Session, error)
	// Logout ends the session.
	Logout(ctx context.Context, id string) error
	// Call serves an API request (method, path with query, JSON body or nil) as the
	// session's principal and returns the status code and body the API answered.
	Call(ctx context.Context, s Session, method, path string, body []byte) (int, []byte)
}

// Config is what the console needs.
type Config struct {
	Backend Backend
	Log     *slog.Logger
	// Poll is how often a live page re-reads what it shows (default 1s).
	Poll time.Duration
	// SessionTTL is how long a cookie is kept by the browser; the backend ends the session
	// itself at the same time.
	SessionTTL time.Duration
}

// Console serves the pages.
type Console struct {
	cfg   Config
	tmpl  *template.Template
	pages []page
	// stop ends every live stream (the server is shutting down).
	stop     chan struct{}
	stopOnce sync.Once
}

// Cookie names. The __Host- prefix makes browsers refuse the cookie unless it is Secure,
// has Path=/ and no Domain: no subdomain and no plain-HTTP page can set or shadow it.
// Browsers treat http://127.0.0.1 and http://localhost as secure contexts, so the dev
// server's plain-HTTP loopback listener works with it.
const (
	sessionCookie = "__Host-orbit-session"
	loginCookie   = "__Host-orbit-login"
)

// Paths.
const (
	Prefix    = "/console"
	loginPath = Prefix + "/login"
)

// contentSecurityPolicy allows only the console's own script and stylesheet: no inline
// script or style, no other origin, no framing, forms posting only back here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Backend == nil {
		return nil, errors.New("console: Backend is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, tmpl: tmpl, stop: make(chan struct{})}
	c.pages = c.definePages()
	return c, nil
}

// CloseStreams ends every live stream: the server calls it when it shuts down, since a
// stream would otherwise hold the shutdown until its timeout.
func (c *Console) CloseStreams() { c.stopOnce.Do(func() { close(c.stop) }) }

// Handler serves /console and everything under it.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", staticHandler(http.FileServerFS(static))))
	mux.HandleFunc("GET "+loginPath, c.loginPage)
	mux.HandleFunc("POST "+loginPath, c.login)
	mux.Handle("POST "+Prefix+"/logout", c.withSession(c.logout))
	for _, p := range c.pages {
		mux.Handle("GET "+p.route, c.withSession(c.servePage(p)))
	}
	for _, a := range c.actions() {
		mux.Handle("POST "+a.route, c.withSession(c.serveAction(a)))
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.session(r); err != nil {
			http.Redirect(w, r, loginPath, http.StatusSeeOther)
			return
		}
		c.renderError(w, http.StatusNotFound, "No such page.")
	})
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	// Cross-origin POSTs are refused by their Sec-Fetch-Site/Origin headers before they get
	// to the CSRF token check: two independent locks.
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// staticHandler lets the browser cache the script and stylesheet briefly.
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// session returns the request's live session.
func (c *Console) session(r *http.Request) (Session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return Session{}, ErrNoSession
	}
	return c.cfg.Backend.Resume(r.Context(), ck.Value)
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, s Session)

// withSession serves h for a live session; anything else gets the login page (a stream
// gets 401, which makes the script go to the login page).
func (c *Console) withSession(h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		switch {
		case errors.Is(err, ErrNoSession) && isStream(r):
			http.Error(w, "no session", http.StatusUnauthorized)
		case errors.Is(err, ErrNoSession):
			http.Redirect(w, r, loginPath, http.StatusSeeOther)
		case err != nil:
			c.cfg.Log.Error("console session", "error", err)
			c.renderError(w, http.StatusInternalServerError, "Internal error.")
		default:
			h(w, r, s)
		}
	})
}

// csrfToken is the session's synchronizer token: derived from the session id, which only
// the HttpOnly cookie carries, so a page of another origin can neither read nor compute it.
func csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, []byte(sessionID))
	m.Write([]byte("orbit-console-csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF checks the form's token against want in constant time.
func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// loginPage shows the login form. Its CSRF token is double-submitted: a cookie and the
// form field must match, so no other site can log a browser into a session of its choosing.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	c.renderLogin(w, http.StatusOK, "")
}

func (c *Console) renderLogin(w http.ResponseWriter, code int, message string) {
	token := randomToken()
	setCookie(w, loginCookie, token, 30*time.Minute)
	c.render(w, code, "login", map[string]any{"CSRF": token, "Error": message})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	ck, err := r.Cookie(loginCookie)
	if err != nil || !validCSRF(r, ck.Value) {
		c.renderLogin(w, http.StatusForbidden, "The login form expired; please try again.")
		return
	}
	key := strings.TrimSpace(r.PostFormValue("api_key"))
	if key == "" {
		c.renderLogin(w, http.StatusBadRequest, "api_key: an API key is required.")
		return
	}
	s, err := c.cfg.Backend.Login(r.Context(), key)
	if errors.Is(err, ErrUnauthenticated) {
		c.renderLogin(w, http.StatusUnauthorized, "api_key: not a valid API key.")
		return
	}
	if err != nil {
		c.cfg.Log.Error("console login", "error", err)
		c.renderLogin(w, http.StatusInternalServerError, "Internal error; please try again.")
		return
	}
	clearCookie(w, loginCookie)
	setCookie(w, sessionCookie, s.ID, c.cfg.SessionTTL)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s Session) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if !validCSRF(r, csrfToken(s.ID)) {
		c.renderError(w, http.StatusForbidden, "Missing or wrong CSRF token.")
		return
	}
	if err := c.cfg.Backend.Logout(r.Context(), s.ID); err != nil {
		c.cfg.Log.Error("console logout", "error", err)
		c.renderError(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, loginPath, http.StatusSeeOther)
}

// render executes a full page.
func (c *Console) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		c.cfg.Log.Error("console template", "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) renderError(w http.ResponseWriter, code int, message string) {
	c.render(w, code, "error", map[string]any{"Code": code, "Status": http.StatusText(code), "Message": message})
}
