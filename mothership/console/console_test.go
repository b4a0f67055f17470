package console

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

// fakeBackend stands in for the frontend in these fast tests: keys, sessions, and an API
// that answers from a map and refuses changes to viewers (the real API's rule; the
// end-to-end browser test runs against the real one).
type fakeBackend struct {
	mu       sync.Mutex
	keys     map[string]Principal
	sessions map[string]Principal
	clusters map[string]api.Cluster
	calls    []string
}

func newFake() *fakeBackend {
	return &fakeBackend{
		keys: map[string]Principal{
			"orbit_admin":  {KeyID: "key-a", TenantID: "t-1", Tenant: "acme", Role: api.RoleAdmin},
			"orbit_viewer": {KeyID: "key-v", TenantID: "t-1", Tenant: "acme", Role: api.RoleViewer},
		},
		sessions: map[string]Principal{},
		clusters: map[string]api.Cluster{"demo": {ID: "lkc-1", Name: "demo", Product: "kafka", Region: "us-west-2",
			Status: api.Status{Phase: api.PhasePending, Brokers: 3}}},
	}
}

func (b *fakeBackend) Login(_ context.Context, key string) (Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.keys[key]
	if !ok {
		return Session{}, ErrUnauthenticated
	}
	id := randomToken()
	b.sessions[id] = p
	return Session{ID: id, Principal: p}, nil
}

func (b *fakeBackend) Resume(_ context.Context, id string) (Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.sessions[id]
	if !ok {
		return Session{}, ErrNoSession
	}
	return Session{ID: id, Principal: p}, nil
}

func (b *fakeBackend) Logout(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.sessions, id)
	return nil
}

func (b *fakeBackend) Call(_ context.Context, s Session, method, path string) (int, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, method+" "+path)
	if method != http.MethodGet {
		if s.Role == api.RoleViewer {
			return http.StatusForbidden, []byte(`{"error":{"code":"permission_denied","message":"this API key may not do that"}}`)
		}
		return http.StatusOK, []byte(`{}`)
	}
	var v any
	switch {
	case path == "/v1/clusters":
		var out []api.Cluster
		for _, c := range b.clusters {
			out = append(out, c)
		}
		v = out
	case strings.HasSuffix(path, "/history"):
		v = []api.HistoryEntry{{Action: "create", Actor: "key-a"}}
	case strings.HasSuffix(path, "/api-keys"):
		v = []api.KafkaAPIKey{{ID: "kk-1", Mechanism: "SCRAM-SHA-512", Secret: "must-not-show"}}
	case strings.HasPrefix(path, "/v1/clusters/"):
		c, ok := b.clusters[strings.TrimPrefix(path, "/v1/clusters/")]
		if !ok {
			return http.StatusNotFound, []byte(`{"error":{"code":"not_found","message":"not found"}}`)
		}
		v = c
	default:
		return http.StatusNotFound, nil
	}
	out, _ := json.Marshal(v)
	return http.StatusOK, out
}

func (b *fakeBackend) changes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.calls {
		if !strings.HasPrefix(c, "GET ") {
			out = append(out, c)
		}
	}
	return out
}

func newTestConsole(t *testing.T) (*fakeBackend, *httptest.Server) {
	t.Helper()
	b := newFake()
	c, err := New(Config{Backend: b, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(c.Handler())
	// The mothership's server has read and write timeouts; streams must outlive them.
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(func() { c.CloseStreams(); srv.Close() })
	return b, srv
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, u string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in with key through the form and returns the session cookie.
func login(t *testing.T, srv *httptest.Server, key string) *http.Cookie {
	t.Helper()
	resp, body := do(t, http.MethodGet, srv.URL+loginPath, nil)
	m := csrfField.FindStringSubmatch(body)
	lc := cookieNamed(resp, loginCookie)
	if m == nil || lc == nil || lc.Value != m[1] {
		t.Fatalf("login page: token %v, cookie %+v", m, lc)
	}
	resp, body = do(t, http.MethodPost, srv.URL+loginPath, url.Values{"csrf": {m[1]}, "api_key": {key}}, lc)
	sc := cookieNamed(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || sc == nil {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	return sc
}

func TestWithoutASessionOnlyTheLoginShows(t *testing.T) {
	_, srv := newTestConsole(t)
	for _, path := range []string{"/console", "/console/", "/console/clusters/demo", "/console/nowhere"} {
		resp, _ := do(t, http.MethodGet, srv.URL+path, nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || (loc != loginPath && loc != Prefix+"/") {
			t.Errorf("GET %s without a session: %d to %q", path, resp.StatusCode, loc)
		}
	}
	resp, body := do(t, http.MethodGet, srv.URL+loginPath, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="login-form"`) || strings.Contains(body, "demo") {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != contentSecurityPolicy || strings.Contains(got, "unsafe-inline") {
		t.Errorf("Content-Security-Policy: %q", got)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(body) || strings.Contains(body, " style=") || strings.Contains(body, " onclick=") {
		t.Error("the login page has inline script or style, which the CSP would block")
	}
	// A stream without a session is refused outright.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/", nil)
	req.Header.Set("Accept", "text/event-stream")
	sresp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sresp.Body.Close()
	if sresp.StatusCode != http.StatusUnauthorized {
		t.Errorf("stream without a session: %d", sresp.StatusCode)
	}
}

func TestLoginExchangesTheKeyForAHardenedCookie(t *testing.T) {
	b, srv := newTestConsole(t)
	sc := login(t, srv, "orbit_admin")
	if !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Domain != "" {
		t.Errorf("session cookie: %+v", sc)
	}
	if strings.Contains(sc.Value, "orbit_admin") {
		t.Error("the cookie carries the API key")
	}
	resp, body := do(t, http.MethodGet, srv.URL+"/console/", nil, sc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-cluster="demo"`) {
		t.Fatalf("fleet with a session: %d\n%s", resp.StatusCode, body)
	}

	// No login token, or a wrong key: refused, no session.
	before := len(b.sessions)
	resp, _ = do(t, http.MethodPost, srv.URL+loginPath, url.Values{"api_key": {"orbit_admin"}})
	if resp.StatusCode != http.StatusForbidden || cookieNamed(resp, sessionCookie) != nil {
		t.Errorf("login without its CSRF token: %d", resp.StatusCode)
	}
	lresp, lbody := do(t, http.MethodGet, srv.URL+loginPath, nil)
	tok, lc := csrfField.FindStringSubmatch(lbody)[1], cookieNamed(lresp, loginCookie)
	resp, body = do(t, http.MethodPost, srv.URL+loginPath, url.Values{"csrf": {tok}, "api_key": {"orbit_nope"}}, lc)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "api_key") || cookieNamed(resp, sessionCookie) != nil {
		t.Errorf("login with a wrong key: %d\n%s", resp.StatusCode, body)
	}
	if len(b.sessions) != before {
		t.Error("a refused login made a session")
	}

	// Logout needs the token too, then ends the session.
	resp, _ = do(t, http.MethodPost, srv.URL+"/console/logout", url.Values{}, sc)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodPost, srv.URL+"/console/logout", url.Values{"csrf": {csrfToken(sc.Value)}}, sc)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loginPath {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp, _ := do(t, http.MethodGet, srv.URL+"/console/", nil, sc); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session outlived the logout: %d", resp.StatusCode)
	}
}

func TestActionsNeedTheCSRFTokenAndTheRole(t *testing.T) {
	b, srv := newTestConsole(t)
	admin := login(t, srv, "orbit_admin")
	action := srv.URL + "/console/clusters/demo/rotate-certificates"
	for name, form := range map[string]url.Values{"no token": {}, "a wrong token": {"csrf": {"forged"}},
		"another session's token": {"csrf": {csrfToken("someone-else")}}} {
		if resp, _ := do(t, http.MethodPost, action, form, admin); resp.StatusCode != http.StatusForbidden {
			t.Errorf("action with %s: %d", name, resp.StatusCode)
		}
	}
	if c := b.changes(); len(c) != 0 {
		t.Fatalf("refused actions reached the API: %v", c)
	}
	// A cross-site request is refused even with the token.
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(url.Values{"csrf": {csrfToken(admin.Value)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(admin)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(b.changes()) != 0 {
		t.Errorf("a cross-site action: %d, %v", resp.StatusCode, b.changes())
	}
	resp, _ = do(t, http.MethodPost, action, url.Values{"csrf": {csrfToken(admin.Value)}}, admin)
	if resp.StatusCode != http.StatusSeeOther || strings.Join(b.changes(), ",") != "POST /v1/clusters/demo/rotate-certificates" {
		t.Fatalf("admin's action: %d, %v", resp.StatusCode, b.changes())
	}

	// A viewer sees no buttons, and what it forges the API refuses.
	viewer := login(t, srv, "orbit_viewer")
	_, page := do(t, http.MethodGet, srv.URL+"/console/clusters/demo", nil, viewer)
	if !strings.Contains(page, `id="phase"`) || strings.Contains(page, "rotate-certificates") || strings.Contains(page, `id="delete"`) {
		t.Errorf("viewer's cluster page shows actions or no status:\n%s", page)
	}
	_, adminPage := do(t, http.MethodGet, srv.URL+"/console/clusters/demo", nil, admin)
	if !strings.Contains(adminPage, `id="rotate-certificates"`) || !strings.Contains(adminPage, `id="delete"`) {
		t.Error("admin's cluster page has no actions")
	}
	if strings.Contains(adminPage, "must-not-show") {
		t.Error("a Kafka API key's secret reached the page")
	}
	resp, body := do(t, http.MethodPost, srv.URL+"/console/clusters/demo/delete", url.Values{"csrf": {csrfToken(viewer.Value)}}, viewer)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not") {
		t.Errorf("viewer's forged delete: %d\n%s", resp.StatusCode, body)
	}
}

// event is one server-sent event.
type event struct{ name, data string }

func readEvent(t *testing.T, r *bufio.Reader) event {
	t.Helper()
	var e event
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && e.name != "":
			e.data = strings.Join(data, "\n")
			return e
		case strings.HasPrefix(line, "event: "):
			e.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

func TestStreamSendsChangesAndEndsWithTheSession(t *testing.T) {
	b, srv := newTestConsole(t)
	sc := login(t, srv, "orbit_viewer")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/clusters/demo", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(sc)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	r := bufio.NewReader(resp.Body)
	if e := readEvent(t, r); e.name != "update" || !strings.Contains(e.data, "phase-pending") || strings.Contains(e.data, "<html") {
		t.Fatalf("first event: %+v", e)
	}
	// Past the server's read and write timeouts, the stream still carries changes.
	time.Sleep(500 * time.Millisecond)
	b.mu.Lock()
	c := b.clusters["demo"]
	c.Status.Phase, c.Status.ReadyBrokers = api.PhaseReady, 3
	b.clusters["demo"] = c
	b.mu.Unlock()
	if e := readEvent(t, r); e.name != "update" || !strings.Contains(e.data, "phase-ready") {
		t.Fatalf("after the change: %+v", e)
	}
	b.mu.Lock()
	delete(b.clusters, "demo")
	b.mu.Unlock()
	if e := readEvent(t, r); e.name != "failure" || e.data != "not found" {
		t.Fatalf("after the cluster went: %+v", e)
	}
	_ = b.Logout(context.Background(), sc.Value)
	if e := readEvent(t, r); e.name != "end" {
		t.Fatalf("after logout: %+v", e)
	}
}

// TestScreenshotsAreOfTheCurrentAssets fails when the console's templates, script or
// stylesheet changed after docs/console/*.png were taken. Regenerate them with
// ORBIT_UPDATE_SCREENSHOTS=1 go test -run TestConsoleInChromium ./tests/e2e/
func TestScreenshotsAreOfTheCurrentAssets(t *testing.T) {
	want, err := os.ReadFile("../../docs/console/ASSETS_SHA256")
	if err != nil {
		t.Fatal(err)
	}
	if got := AssetsDigest(); strings.TrimSpace(string(want)) != got {
		t.Fatalf("docs/console screenshots are of other assets (%s, now %s): run "+
			"ORBIT_UPDATE_SCREENSHOTS=1 go test -run TestConsoleInChromium ./tests/e2e/ and commit docs/console",
			strings.TrimSpace(string(want)), got)
	}
}

// TestEveryPageHasALivePart: a page's stream renders its template name+"-live"; a new page
// (rollouts, say) that forgets it would stream nothing.
func TestEveryPageHasALivePart(t *testing.T) {
	c, err := New(Config{Backend: newFake()})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.pages) < 2 {
		t.Fatalf("pages: %d", len(c.pages))
	}
	for _, p := range c.pages {
		for _, name := range []string{p.name, p.name + "-live"} {
			if c.tmpl.Lookup(name) == nil {
				t.Errorf("page %s has no template %q", p.route, name)
			}
		}
	}
}
