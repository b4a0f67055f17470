package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/console"
	"github.com/orbitcp/orbit/tests/testkit"
)

const (
	consoleViewerKey   = "orbit_e2econsoleviewerkeyabcdefgh"
	consoleOperatorKey = "orbit_e2econsoleoperatorkeyabcdef"
	consoleOtherKey    = "orbit_e2econsoleothertenantkeyabc"
)

// chromium finds Debian's headless-capable Chromium. Without it the browser tests skip,
// except in CI (.ci/run installs it), where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// browser starts a headless Chromium and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a deadline, failing the test with what step failed.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// navigate runs a step that only moves between pages (clicks on links and waits), so that
// it may run again: a live update of the page (server-sent events re-render its lists) can
// replace a node between finding it and clicking it, which the browser reports as a node it
// cannot find. Other errors, and a third such failure, fail the test.
func navigate(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(actx, actions...)
		cancel()
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Could not find node with given id") {
			t.Fatalf("%s (attempt %d): %v", step, attempt, err)
		}
		t.Logf("%s: the page changed under the click, again: %v", step, err)
	}
}

// value runs one browser action that returns a value.
func value[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return value(t, ctx, "evaluating "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// consoleLogin logs the browser in with key from the login page.
func consoleLogin(t *testing.T, ctx context.Context, base, key string) {
	t.Helper()
	run(t, ctx, "logging in",
		chromedp.Navigate(base+console.Prefix+"/login"),
		chromedp.WaitVisible(chromedp.ID("api_key")),
		chromedp.SendKeys(chromedp.ID("api_key"), key),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("live")),
	)
}

func consoleLogout(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "logging out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
}

// screenshot writes docs/console/<name>.png when ORBIT_UPDATE_SCREENSHOTS is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("ORBIT_UPDATE_SCREENSHOTS") == "" {
		return
	}
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

const screenshotDir = "../../docs/console"

// TestConsoleInChromium drives the console in a real headless Chromium: the login is all
// that shows without a session; an admin sees a cluster created through the CLI turn ready
// without reloading, and nothing of another tenant; the session cookie is HttpOnly, Secure
// and SameSite=Strict; an action without its CSRF token is refused and changes nothing; a
// viewer sees no action buttons and its forged actions are refused; an operator sees the
// satellites, and pauses and resumes a rollout from its page. With ORBIT_UPDATE_SCREENSHOTS=1 it writes the docs' screenshots.
func TestConsoleInChromium(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	bg := context.Background()
	for _, k := range []struct{ tenant, role, key string }{
		{"e2e", api.RoleViewer, consoleViewerKey}, {"e2e", api.RoleOperator, consoleOperatorKey}, {"other", api.RoleAdmin, consoleOtherKey},
	} {
		if err := e.cp.Mothership.EnsureAPIKey(bg, k.tenant, k.role, k.key, "console test"); err != nil {
			t.Fatal(err)
		}
	}
	base := e.cp.URL()
	// Another tenant's cluster, through the CLI.
	if _, msg, err := e.orbitAs(consoleOtherKey, "cluster", "create", "hidden-one", "--product", "kafka", "--cku", "1", "--region", "us-west-2"); err != nil {
		t.Fatalf("create the other tenant's cluster: %v\n%s", err, msg)
	}
	hidden, err := api.NewClient(base, consoleOtherKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	hiddenCluster, err := hidden.GetCluster(bg, "hidden-one")
	if err != nil {
		t.Fatal(err)
	}

	// Without a session: the login page and nothing else, wherever one goes.
	for _, path := range []string{"/console/", "/console/clusters/hidden-one", "/console/nowhere"} {
		run(t, ctx, "opening "+path+" without a session", chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.ID("login-form")))
		url := value(t, ctx, "location", chromedp.Location())
		if !strings.HasSuffix(url, "/console/login") {
			t.Errorf("%s without a session landed on %s", path, url)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#live, table, #logout").length`); n != 0 {
			t.Errorf("%s without a session shows %d elements of the console", path, n)
		}
	}
	screenshot(t, ctx, "login")
	// A wrong key is refused with the field named.
	run(t, ctx, "a wrong key", chromedp.SendKeys(chromedp.ID("api_key"), "orbit_notakeyatallnotakeyatall"),
		chromedp.Click(chromedp.ID("login")), chromedp.WaitVisible(chromedp.ID("login-error")))
	if msg := eval[string](t, ctx, `document.getElementById("login-error").textContent`); !strings.Contains(msg, "api_key") {
		t.Errorf("login with a wrong key says %q", msg)
	}

	consoleLogin(t, ctx, base, testKey)
	cookies := value(t, ctx, "reading cookies", func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
	})
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if strings.Contains(c.Name, "session") {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || !session.Secure || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie: %+v", session)
	}
	if eval[bool](t, ctx, `document.cookie.includes("session") || JSON.stringify(localStorage).includes("orbit_")`) {
		t.Error("the page's script can read the session or the key")
	}

	// A cluster created through the CLI shows up and turns ready, without a reload: the
	// marker set on the page survives. No satellite runs yet, so it waits pending first.
	run(t, ctx, "marking the page", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true; undefined`))
	if _, msg, err := e.orbit("cluster", "create", "demo", "--product", "kafka", "--cku", "1", "--region", "us-west-2"); err != nil {
		t.Fatalf("orbit cluster create: %v\n%s", err, msg)
	}
	run(t, ctx, "the new cluster appears pending", chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="demo"][data-phase="pending"]`)))
	e.startSatellite("us-west-2")
	run(t, ctx, "the cluster turns ready", chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="demo"][data-phase="ready"]`)))
	if !eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Fatal("the fleet page reloaded to show the change")
	}
	if n := eval[int](t, ctx, `Number(document.getElementById("live").dataset.updates || 0)`); n < 2 {
		t.Errorf("live updates: %d", n)
	}
	noneOf := func(where string) {
		t.Helper()
		html := eval[string](t, ctx, `document.documentElement.outerHTML`)
		for _, s := range []string{"hidden-one", hiddenCluster.ID, testKey, consoleOtherKey} {
			if strings.Contains(html, s) {
				t.Errorf("%s shows %q", where, s)
			}
		}
	}
	noneOf("the fleet page")
	screenshot(t, ctx, "fleet-admin")

	// The cluster page: spec, status, endpoints and CA, history, Kafka API keys.
	if _, msg, err := e.orbit("cluster", "api-key", "create", "demo", "--description", "app"); err != nil {
		t.Fatalf("api-key create: %v\n%s", err, msg)
	}
	run(t, ctx, "opening the cluster page", chromedp.Click(chromedp.CSS(`tr[data-cluster="demo"] a`)),
		chromedp.WaitVisible(chromedp.ID("bootstrap")), chromedp.WaitVisible(chromedp.ID("rotate-certificates")))
	body := eval[string](t, ctx, `document.getElementById("live").innerText`)
	for _, want := range []string{"ready", "3/3", "app", "SCRAM-SHA-512", "create"} {
		if !strings.Contains(body, want) {
			t.Errorf("the cluster page does not show %q:\n%s", want, body)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#ca").length`); n != 1 {
		t.Error("the cluster page does not show the CA")
	}
	noneOf("the cluster page")
	screenshot(t, ctx, "cluster")

	// An action without the CSRF token is refused and changes nothing.
	history := func() int {
		t.Helper()
		h, err := e.client.ClusterHistory(bg, "demo")
		if err != nil {
			t.Fatal(err)
		}
		return len(h)
	}
	before := history()
	if code := eval[int](t, ctx, `fetch("/console/clusters/demo/rotate-certificates", {method: "POST", redirect: "manual"}).then(r => r.status)`); code != 403 {
		t.Errorf("an action without a CSRF token answered %d, want 403", code)
	}
	if code := eval[int](t, ctx, `fetch("/console/clusters/demo/rotate-certificates", {method: "POST", redirect: "manual",
		body: new URLSearchParams({csrf: "forged"})}).then(r => r.status)`); code != 403 {
		t.Errorf("an action with a wrong CSRF token answered %d, want 403", code)
	}
	if after := history(); after != before {
		t.Fatalf("refused actions changed the cluster: history %d → %d", before, after)
	}
	// With the token (the button), it goes through the API and shows in the history.
	run(t, ctx, "rotating certificates", chromedp.Click(chromedp.ID("rotate-certificates")),
		chromedp.WaitVisible(chromedp.ID("history")))
	testkit.CheckFor(t, 20*time.Second, func() error {
		h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("history")?.innerText ?? ""`))
		if err != nil || !strings.Contains(h, "rotate-certificates") {
			return fmt.Errorf("history does not show the rotation (%v): %s", err, h)
		}
		return nil
	})
	if after := history(); after != before+1 {
		t.Errorf("rotate: history %d → %d", before, after)
	}
	// Another tenant's cluster page is not found, as in the API.
	// Another tenant's cluster page answers exactly as one that does not exist.
	notFound := func(name string) string {
		t.Helper()
		run(t, ctx, "cluster page of "+name, chromedp.Navigate(base+"/console/clusters/"+name), chromedp.WaitVisible(chromedp.ID("error-message")))
		return strings.ReplaceAll(eval[string](t, ctx, `document.body.innerText`), name, "NAME")
	}
	if hiddenPage, nonePage := notFound("hidden-one"), notFound("never-was"); hiddenPage != nonePage || strings.Contains(hiddenPage, hiddenCluster.ID) {
		t.Errorf("another tenant's cluster page:\n%s\nwhere one that does not exist shows:\n%s", hiddenPage, nonePage)
	}
	run(t, ctx, "back", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("live")))
	consoleLogout(t, ctx)
	run(t, ctx, "after logout", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("login-form")))

	// A viewer: no action buttons, and actions it forges (with its own valid CSRF token)
	// are refused by the API.
	consoleLogin(t, ctx, base, consoleViewerKey)
	run(t, ctx, "the viewer's cluster page", chromedp.Navigate(base+"/console/clusters/demo"), chromedp.WaitVisible(chromedp.ID("bootstrap")))
	if n := eval[int](t, ctx, `document.querySelectorAll("#actions, #rotate-certificates, #delete, form[action*='/clusters/']").length`); n != 0 {
		t.Errorf("a viewer sees %d action elements", n)
	}
	before = history()
	for _, path := range []string{"rotate-certificates", "delete"} {
		code := eval[int](t, ctx, fmt.Sprintf(`fetch("/console/clusters/demo/%s", {method: "POST", redirect: "manual",
			body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value})}).then(r => r.status)`, path))
		if code != 403 {
			t.Errorf("a viewer's forged %s answered %d, want 403", path, code)
		}
	}
	if after := history(); after != before {
		t.Fatalf("a viewer's forged actions changed the cluster: history %d → %d", before, after)
	}
	if c, err := e.client.GetCluster(bg, "demo"); err != nil || c.DeletedAt != nil {
		t.Fatalf("after the viewer's forged delete: %v %+v", err, c)
	}
	screenshot(t, ctx, "cluster-viewer")
	consoleLogout(t, ctx)

	// An operator sees the satellites with their health, load and heartbeat.
	consoleLogin(t, ctx, base, consoleOperatorKey)
	run(t, ctx, "the operator's fleet", chromedp.WaitVisible(chromedp.CSS(`tr[data-satellite="us-west-2"]`)))
	if txt := eval[string](t, ctx, `document.getElementById("satellites").innerText`); !strings.Contains(txt, "connected") {
		t.Errorf("satellites: %s", txt)
	}
	// Every tenant's clusters are listed (as GET /v1/clusters?all=true does), but only the
	// operator's own tenant's link to a cluster page (the API's cluster reads are per tenant).
	if n := eval[int](t, ctx, `document.querySelectorAll('tr[data-cluster="hidden-one"]').length * 10 +
		document.querySelectorAll('tr[data-cluster="hidden-one"] a').length`); n != 10 {
		t.Errorf("the operator's row of another tenant's cluster: %d (want listed, not linked)", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('tr[data-cluster="demo"] a').length`); n != 1 {
		t.Errorf("the operator's own cluster is not linked")
	}
	screenshot(t, ctx, "fleet-operator")

	// A rollout (a new profile revision, soaking an hour so that it stays running): the
	// operator pauses and resumes it from its page, live, and the API records both as its.
	ops, err := api.NewClient(base, consoleOperatorKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.SetProfileRollout(bg, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.1", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}, "", time.Hour); err != nil {
		t.Fatal(err)
	}
	rollouts, err := ops.ListRollouts(bg)
	if err != nil || len(rollouts) != 1 {
		t.Fatalf("rollouts: %v %+v", err, rollouts)
	}
	ro := rollouts[0].ID
	navigate(t, ctx, "the rollouts page", chromedp.Click(chromedp.ID("nav-rollouts")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-rollout="`+ro+`"] a`)), chromedp.Click(chromedp.CSS(`tr[data-rollout="`+ro+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-target][data-state="rolling"]`)), chromedp.WaitVisible(chromedp.ID("pause")))
	run(t, ctx, "pausing the rollout", chromedp.Click(chromedp.ID("pause")),
		chromedp.WaitVisible(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.CSS(`#rollout-state .phase-paused`)))
	if got, err := ops.GetRollout(bg, ro); err != nil || got.State != api.RolloutPaused {
		t.Fatalf("after the browser's pause: %v %+v", err, got)
	}
	screenshot(t, ctx, "rollout")
	// The fleet page lists the paused rollout as needing attention, linked to its page.
	navigate(t, ctx, "the paused rollout needs attention", chromedp.Click(chromedp.CSS(`nav a[href="/console/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#attention a[data-rollout="`+ro+`"]`)),
		chromedp.Click(chromedp.CSS(`#attention a[data-rollout="`+ro+`"]`)), chromedp.WaitVisible(chromedp.ID("resume")))
	run(t, ctx, "resuming the rollout", chromedp.Click(chromedp.ID("resume")),
		chromedp.WaitVisible(chromedp.ID("pause")), chromedp.WaitVisible(chromedp.CSS(`#rollout-state .phase-running`)))
	got, err := ops.GetRollout(bg, ro)
	if err != nil || got.State != api.RolloutRunning {
		t.Fatalf("after the browser's resume: %v %+v", err, got)
	}
	var acts []string
	for _, h := range got.History {
		if h.Action == "pause" || h.Action == "resume" {
			acts = append(acts, h.Action+" by "+h.Actor)
		}
	}
	if len(acts) != 2 || !strings.HasPrefix(acts[0], "pause by ") || !strings.HasPrefix(acts[1], "resume by ") || strings.Contains(acts[0], "by controller") {
		t.Errorf("the rollout's history of the browser's actions: %v", acts)
	}
	if os.Getenv("ORBIT_UPDATE_SCREENSHOTS") != "" {
		if err := os.WriteFile(filepath.Join(screenshotDir, "ASSETS_SHA256"), []byte(console.AssetsDigest()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleSessionsOnBothEngines checks the sessions the frontend keeps, on SQLite and
// PostgreSQL: a login makes a session whose cookie holds no key, the session sees what its
// key may, a revoked key ends its sessions, a logout ends the session, and a stream of a
// page is refused once the session is gone.
func TestConsoleSessionsOnBothEngines(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine))
			bg := context.Background()
			key, err := e.client.CreateAPIKey(bg, api.APIKeyRequest{Role: api.RoleViewer, Description: "console"})
			if err != nil {
				t.Fatal(err)
			}
			base := e.cp.URL() + console.Prefix
			jar := &sessionClient{t: t}
			if code := jar.login(base, key.Key); code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			if strings.Contains(jar.session, key.Key) || len(jar.session) < 40 {
				t.Fatalf("session cookie value %q", jar.session)
			}
			if code, body := jar.get(base + "/"); code != http.StatusOK || !strings.Contains(body, "viewer") {
				t.Fatalf("fleet: %d\n%s", code, body)
			}
			if _, err := e.client.RevokeAPIKey(bg, key.ID); err != nil {
				t.Fatal(err)
			}
			if code, _ := jar.get(base + "/"); code != http.StatusSeeOther {
				t.Fatalf("a revoked key's session still works: %d", code)
			}
			if code := jar.login(base, key.Key); code != http.StatusUnauthorized {
				t.Fatalf("login with a revoked key: %d", code)
			}
			if code := jar.login(base, testKey); code != http.StatusSeeOther {
				t.Fatalf("login: %d", code)
			}
			_, page := jar.get(base + "/")
			m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no CSRF token on the page:\n%s", page)
			}
			if code, _ := jar.post(base+"/logout", url.Values{"csrf": {m[1]}}); code != http.StatusSeeOther {
				t.Fatalf("logout: %d", code)
			}
			if code, _ := jar.get(base + "/"); code != http.StatusSeeOther {
				t.Fatalf("the session outlived its logout: %d", code)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
			req.Header.Set("Accept", "text/event-stream")
			if code, _ := jar.do(req); code != http.StatusUnauthorized {
				t.Fatalf("stream after logout: %d", code)
			}
		})
	}
}

// sessionClient is a browser reduced to what these checks need: it keeps the console's
// cookies by hand (Go's cookie jar does not send Secure cookies over plain HTTP).
type sessionClient struct {
	t                   *testing.T
	session, loginToken string
}

func (c *sessionClient) do(req *http.Request) (int, string) {
	c.t.Helper()
	for name, v := range map[string]string{"__Host-orbit-session": c.session, "__Host-orbit-login": c.loginToken} {
		if v != "" {
			req.AddCookie(&http.Cookie{Name: name, Value: v})
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, ck := range resp.Cookies() {
		switch ck.Name {
		case "__Host-orbit-session":
			c.session = ck.Value
		case "__Host-orbit-login":
			c.loginToken = ck.Value
		}
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *sessionClient) get(u string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return c.do(req)
}

func (c *sessionClient) post(u string, form url.Values) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *sessionClient) login(base, key string) int {
	_, page := c.get(base + "/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	code, _ := c.post(base+"/login", url.Values{"csrf": {m[1]}, "api_key": {key}})
	return code
}
