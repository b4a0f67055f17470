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
			"orbit_op":     {KeyID: "key-o", TenantID: "t-0", Tenant: "ops", Role: api.RoleOperator},
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

func (b *fakeBackend) Call(_ context.Context, s Session, method, path string, body []byte) (int, []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, strings.TrimSpace(method+" "+path+" "+string(body)))
	if strings.HasPrefix(path, "/v1/rollouts") && s.Role != api.RoleOperator {
		return http.StatusForbidden, []byte(`{"error":{"code":"permission_denied","message":"this API key may not do that"}}`)
	}
	if method != http.MethodGet {
		if s.Role == api.RoleViewer {
			return http.StatusForbidden, []byte(`{"error":{"code":"permission_denied","message":"this API key may not do that"}}`)
		}
		return http.StatusOK, []byte(`{}`)
	}
	var v any
	switch {
	case path == "/v1/satellites":
		v = []api.Satellite{{Name: "sat-1", Region: "us-west-2", Connected: true}}
	case path == "/v1/rollouts":
		v = []api.Rollout{fakeRollout}
	case path == "/v1/rollouts/"+fakeRollout.ID:
		v = fakeRollout
	case path == "/v1/windows":
		v = []api.MaintenanceWindow{{Scope: "region:us-west-2", Weekly: []api.WeeklyWindow{{Day: "tue", Start: "02:00", Duration: api.Duration(4 * time.Hour)}}}}
	case path == "/v1/clusters" || path == "/v1/clusters?all=true":
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

// fakeRollout is a rollout paused by its failure budget in its second wave.
var fakeRollout = api.Rollout{ID: "ro-1", Product: "kafka", SKU: "dedicated", Revision: 2, Kind: "rollout",
	RequestedState: api.RolloutRunning, State: api.RolloutPaused, Reason: "failure budget of 0 spent: 1 clusters failed: pkc-3 (degraded)",
	Wave: 1, Waves: 3, CreatedBy: "key-o",
	Targets: []api.RolloutTarget{
		{Cluster: "pkc-1", Wave: 0, State: api.TargetDone}, {Cluster: "pkc-2", Wave: 1, State: api.TargetRolling},
		{Cluster: "pkc-3", Wave: 1, State: api.TargetFailed, Reason: "degraded past the progress deadline"},
		{Cluster: "pkc-4", Wave: 1, State: api.TargetWindow}, {Cluster: "pkc-5", Wave: 1, State: api.TargetOffline},
		{Cluster: "pkc-6", Wave: 2, State: api.TargetWaiting}, {Cluster: "pkc-7", Wave: 2, State: api.TargetPinned},
		{Cluster: "pkc-8", Wave: 2, State: api.TargetSkipped}},
	History: []api.RolloutEvent{{Actor: "key-o", Action: "create"}, {Actor: "rollout-controller", Action: "paused", Detail: "failure budget of 0 spent: 1 clusters failed: pkc-3 (degraded)"}},
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

// TestRolloutPages: an operator sees the rollouts, and on a rollout's page its waves with
// each state's count, its failure and reason, the windows, the history with actors, and
// the buttons of a paused rollout (resume, abort; no pause), which call the API's action
// with the CSRF token only; the fleet page lists the paused rollout as needing attention.
// A tenant's admin or viewer sees neither the rollouts nor a button, and what it forges
// (with its own valid CSRF token) the API refuses.
func TestRolloutPages(t *testing.T) {
	b, srv := newTestConsole(t)
	op := login(t, srv, "orbit_op")
	_, list := do(t, http.MethodGet, srv.URL+"/console/rollouts", nil, op)
	if !strings.Contains(list, `data-rollout="ro-1" data-state="paused"`) || !strings.Contains(list, `href="/console/rollouts/ro-1"`) {
		t.Fatalf("operator's rollout list:\n%s", list)
	}
	resp, page := do(t, http.MethodGet, srv.URL+"/console/rollouts/ro-1", nil, op)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rollout page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`data-wave="2" class="current"`, `data-state="done">1 done`, `data-state="rolling">1 rolling`,
		`data-state="window">1 window`, `data-state="offline">1 offline`, `data-state="failed">1 failed`,
		`data-state="waiting">1 waiting`, `data-state="pinned">1 pinned`, `data-state="skipped">1 skipped`,
		"degraded past the progress deadline", "failure budget of 0 spent", "region:us-west-2", "tue 02:00 for 4h0m0s",
		"<td>rollout-controller</td><td>paused</td>", "<td>key-o</td><td>create</td>",
		`id="resume"`, `id="abort"`, `action="/console/rollouts/ro-1/resume"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("rollout page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="pause"`) {
		t.Error("a paused rollout's page offers to pause it")
	}
	if strings.Index(page, "<td>controller</td>") > strings.Index(page, "<td>key-o</td>") {
		t.Error("history is not newest first")
	}
	_, fleet := do(t, http.MethodGet, srv.URL+"/console/", nil, op)
	if !strings.Contains(fleet, `data-rollout="ro-1"`) || !strings.Contains(fleet, "rollout paused: failure budget") {
		t.Errorf("fleet page's attention list lacks the paused rollout:\n%s", fleet)
	}

	// Actions: refused without the operator's token, then the API's action with its body.
	resume := srv.URL + "/console/rollouts/ro-1/resume"
	for name, form := range map[string]url.Values{"no token": {}, "a forged token": {"csrf": {"forged"}}} {
		if resp, _ := do(t, http.MethodPost, resume, form, op); resp.StatusCode != http.StatusForbidden {
			t.Errorf("resume with %s: %d", name, resp.StatusCode)
		}
	}
	if c := b.changes(); len(c) != 0 {
		t.Fatalf("refused actions reached the API: %v", c)
	}
	for _, a := range []string{"pause", "resume", "abort"} {
		resp, _ := do(t, http.MethodPost, srv.URL+"/console/rollouts/ro-1/"+a, url.Values{"csrf": {csrfToken(op.Value)}}, op)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/rollouts/ro-1" {
			t.Errorf("operator's %s: %d %s", a, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if got, want := strings.Join(b.changes(), "\n"), `POST /v1/rollouts/ro-1/actions {"action":"pause"}
POST /v1/rollouts/ro-1/actions {"action":"resume"}
POST /v1/rollouts/ro-1/actions {"action":"abort"}`; got != want {
		t.Fatalf("operator's actions reached the API as\n%s\nwant\n%s", got, want)
	}

	// A tenant's admin and viewer: no rollouts link, no page, no button; forged actions refused.
	for _, key := range []string{"orbit_admin", "orbit_viewer"} {
		sc := login(t, srv, key)
		_, fleet := do(t, http.MethodGet, srv.URL+"/console/", nil, sc)
		if strings.Contains(fleet, "nav-rollouts") || strings.Contains(fleet, "ro-1") {
			t.Errorf("%s's fleet page shows rollouts", key)
		}
		resp, page := do(t, http.MethodGet, srv.URL+"/console/rollouts/ro-1", nil, sc)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(page, `id="resume"`) || strings.Contains(page, "pkc-3") {
			t.Errorf("%s's rollout page: %d\n%s", key, resp.StatusCode, page)
		}
		resp, body := do(t, http.MethodPost, resume, url.Values{"csrf": {csrfToken(sc.Value)}}, sc)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not") {
			t.Errorf("%s's forged resume: %d\n%s", key, resp.StatusCode, body)
		}
	}
}
