package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/netproxy"
	"github.com/orbitcp/orbit/tests/testkit"
)

// observabilityDir is deploy/observability in this repository.
func observabilityDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "observability")
}

// prometheusTool finds a Prometheus binary (promtool, prometheus): Debian's package
// provides both. Without it the test is skipped on a developer's machine and fails in CI.
func prometheusTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (apt-get install prometheus); CI must run this test", name)
		}
		t.Skipf("%s is not installed (apt-get install prometheus): skipping", name)
	}
	return path
}

func runTool(t *testing.T, stdin io.Reader, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestObservabilityRulesAndConfig checks deploy/observability as shipped: the scrape
// configuration and the alert rules load, and the rule unit tests (every alert) pass.
func TestObservabilityRulesAndConfig(t *testing.T) {
	promtool := prometheusTool(t, "promtool")
	dir := observabilityDir(t)
	runTool(t, nil, promtool, "check", "config", filepath.Join(dir, "prometheus.yml"))
	runTool(t, nil, promtool, "check", "rules", filepath.Join(dir, "rules", "orbit-alerts.yml"))
	runTool(t, nil, promtool, "test", "rules", filepath.Join(dir, "rules", "orbit-alerts.test.yml"))

	// Every alert of the rules has a unit test.
	rules, err := os.ReadFile(filepath.Join(dir, "rules", "orbit-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(dir, "rules", "orbit-alerts.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*- alert: (\S+)`).FindAllStringSubmatch(string(rules), -1) {
		if !regexp.MustCompile(`(?m)^\s*alertname: ` + m[1] + `\s*$`).Match(tests) {
			t.Errorf("alert %s has no promtool unit test", m[1])
		}
	}
}

// promSample is one element of a Prometheus instant vector.
type promSample struct {
	Metric map[string]string
	Value  float64
}

// promClient queries a Prometheus server's HTTP API.
type promClient struct{ base string }

func (p promClient) query(expr string) ([]promSample, error) {
	resp, err := http.Get(p.base + "/api/v1/query?" + url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: %s", expr, body.Error)
	}
	var raw []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	switch body.Data.ResultType {
	case "vector":
		if err := json.Unmarshal(body.Data.Result, &raw); err != nil {
			return nil, err
		}
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(body.Data.Result, &v); err != nil {
			return nil, err
		}
		raw = append(raw, struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}{Value: v})
	default:
		return nil, fmt.Errorf("%s: unexpected result type %s", expr, body.Data.ResultType)
	}
	out := make([]promSample, 0, len(raw))
	for _, r := range raw {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %q: %w", expr, s, err)
		}
		out = append(out, promSample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// value is the single value expr evaluates to.
func (p promClient) value(expr string) (float64, error) {
	s, err := p.query(expr)
	if err != nil {
		return 0, err
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("%s: %d series, want 1: %v", expr, len(s), s)
	}
	return s[0].Value, nil
}

// eventually waits until expr evaluates to one value that ok accepts, and returns it.
func (p promClient) eventually(t *testing.T, timeout time.Duration, expr string, ok func(float64) bool) float64 {
	t.Helper()
	var got float64
	testkit.CheckFor(t, timeout, func() error {
		v, err := p.value(expr)
		if err != nil {
			return err
		}
		if !ok(v) {
			return fmt.Errorf("%s = %v", expr, v)
		}
		got = v
		return nil
	})
	return got
}

// testPrometheusConfig writes the repository's Prometheus configuration and rules for a
// test: its targets point at addr (the mothership at /metrics, the in-process satellites at
// /satellites/metrics, the embedded hub at /hub/metrics, as `mothership dev` serves them), scrapes and evaluations run every
// second and every alert's `for` is 10 s (the expressions are the shipped ones).
func testPrometheusConfig(t *testing.T, dir, addr string) string {
	t.Helper()
	src := observabilityDir(t)
	raw, err := os.ReadFile(filepath.Join(src, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	rules, err := os.ReadFile(filepath.Join(src, "rules", "orbit-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules = regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAll(rules, []byte("${1}for: 10s"))
	rulesFile := filepath.Join(dir, "orbit-alerts.yml")
	if err := os.WriteFile(rulesFile, rules, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg["rule_files"] = []string{rulesFile}
	jobs, _ := cfg["scrape_configs"].([]any)
	var names []string
	for _, j := range jobs {
		job := j.(map[string]any)
		job["static_configs"] = []any{map[string]any{"targets": []string{addr}}}
		switch job["job_name"] {
		case "orbit-satellite":
			job["metrics_path"] = "/satellites/metrics"
		case "orbit-hub":
			job["metrics_path"] = "/hub/metrics"
		}
		names = append(names, job["job_name"].(string))
	}
	if !slices.Equal(names, []string{"orbit-mothership", "orbit-hub", "orbit-satellite"}) {
		t.Fatalf("deploy/observability/prometheus.yml scrapes %v; the test knows orbit-mothership, orbit-hub and orbit-satellite", names)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// dashboardQueries returns every panel query of every dashboard, by dashboard and panel
// title, with Grafana's variables replaced as Grafana would for "all satellites".
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(observabilityDir(t), "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", filepath.Base(f), p.Title)
			}
			for i, target := range p.Targets {
				expr := strings.NewReplacer(`$satellite`, `.*`, `$__rate_interval`, `30s`).Replace(target.Expr)
				out[fmt.Sprintf("%s / %s #%d", filepath.Base(f), p.Title, i)] = expr
			}
		}
	}
	return out
}

// TestPrometheusScrapesDevMode runs `mothership dev` (one satellite, its hub link through a
// proxy) and a real Prometheus scraping it with the repository's configuration and alert
// rules. The named series exist and move as a cluster is created, resized and deleted; the
// scraped output passes `promtool check metrics`; every dashboard query returns data; and
// with the satellite's hub link cut, OrbitSatelliteDisconnected fires within its `for`
// window and clears after the heal, and the mirror lag and heartbeat age grow meanwhile.
func TestPrometheusScrapesDevMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs Prometheus")
	}
	promtool := prometheusTool(t, "promtool")
	prometheus := prometheusTool(t, "prometheus")
	mothership := buildBinary(t, "github.com/orbitcp/orbit/cmd/mothership")
	dir := t.TempDir()
	apiAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	metricsAddr, _ := devstack.FreePort("127.0.0.1")
	promAddr, _ := devstack.FreePort("127.0.0.1")
	proxy, err := netproxy.Start(leaf)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()

	const key = "orbit_metricstest0123456789abcdef"
	var devErr lockedBuffer
	dev := exec.Command(mothership, "dev", "--data-dir", filepath.Join(dir, "orbit"), "--listen", apiAddr, "--leaf-listen", leaf,
		"--metrics-listen", metricsAddr, "--satellite-hub", proxy.Addr(), "--region", "r1", "--dev-api-key", key, "--sim-step", "20ms")
	dev.Stdout, dev.Stderr = io.Discard, &devErr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = dev.Process.Signal(syscall.SIGTERM)
		_ = dev.Wait()
		if t.Failed() {
			t.Logf("mothership dev:\n%s", devErr.String())
		}
	}()
	client, err := api.NewClient("http://"+apiAddr, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		sats, err := client.ListSatellites(context.Background())
		if err == nil && len(sats) == 0 {
			err = fmt.Errorf("no satellite registered yet")
		}
		return err
	})

	var promErr lockedBuffer
	prom := exec.Command(prometheus, "--config.file="+testPrometheusConfig(t, dir, metricsAddr),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr, "--log.level=warn")
	prom.Stdout, prom.Stderr = &promErr, &promErr
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = prom.Process.Signal(syscall.SIGTERM)
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", promErr.String())
		}
	}()
	p := promClient{base: "http://" + promAddr}
	for _, job := range []string{"orbit-mothership", "orbit-hub", "orbit-satellite"} {
		p.eventually(t, 60*time.Second, `up{job="`+job+`"}`, func(v float64) bool { return v == 1 })
	}

	// A cluster appears: the fleet, controller, API, satellite and Kafka series move.
	ctx := context.Background()
	create := func(name string) {
		t.Helper()
		if _, err := client.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", CKU: 1, Region: "r1"}); err != nil {
			t.Fatal(err)
		}
	}
	readyWithin := func(name string, brokers int) *api.Cluster {
		t.Helper()
		var c *api.Cluster
		testkit.CheckFor(t, 60*time.Second, func() error {
			var err error
			if c, err = client.GetCluster(ctx, name); err != nil {
				return err
			}
			return readyWith(brokers)(c)
		})
		return c
	}
	count := func(expr string) float64 {
		t.Helper()
		v, err := p.value("sum(" + expr + ") or vector(0)")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	physicalBefore := count(`controller_runtime_reconcile_total{job="orbit-mothership",controller="physical"}`)
	stsApplies := count(`orbit_satellite_kubernetes_apply_duration_seconds_count{kind="StatefulSet"}`)
	create("resized")
	create("kept")
	resized := readyWithin("resized", 3)
	readyWithin("kept", 3)
	pkc := physicalID(resized)
	ready := func(n float64) func(float64) bool { return func(v float64) bool { return v == n } }
	p.eventually(t, 30*time.Second, `sum(orbit_clusters{product="kafka",phase="ready",satellite="r1"})`, ready(2))
	p.eventually(t, 30*time.Second, `sum(orbit_satellite_clusters{satellite="r1",phase="ready"})`, ready(2))
	p.eventually(t, 30*time.Second, `sum(orbit_cluster_phase{cluster="`+pkc+`",phase="ready"})`, ready(1))
	p.eventually(t, 30*time.Second, `sum(controller_runtime_reconcile_total{job="orbit-mothership",controller="physical",result="success"})`,
		func(v float64) bool { return v >= physicalBefore+2 })
	p.eventually(t, 30*time.Second, `sum(orbit_api_requests_total{route="POST /v1/clusters",code="201"})`, ready(2))
	p.eventually(t, 30*time.Second, `sum(orbit_satellite_kubernetes_apply_duration_seconds_count{kind="StatefulSet",result="success"})`,
		func(v float64) bool { return v > stsApplies })
	p.eventually(t, 30*time.Second, `sum(orbit_satellite_kafka_admin_requests_total{cluster="`+pkc+`",result="success"})`,
		func(v float64) bool { return v > 0 })
	p.eventually(t, 30*time.Second, `min(orbit_satellite_certificate_expiry_timestamp_seconds{cluster="`+pkc+`"}) - time()`,
		func(v float64) bool { return v > 30*86400 })

	// Every series the issue names exists.
	for _, name := range []string{
		"orbit_api_requests_total", "orbit_api_request_duration_seconds_bucket",
		"controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total", "controller_runtime_reconcile_time_seconds_bucket",
		"workqueue_depth", "orbit_controller_events_unreconciled",
		"orbit_outbox_pending", "orbit_outbox_lag_seconds", "orbit_outbox_published_total", "orbit_outbox_last_pass_timestamp_seconds",
		"orbit_clusters", "orbit_cluster_phase", "orbit_cluster_condition_since_timestamp_seconds",
		"orbit_satellites", "orbit_satellite_connected", "orbit_satellite_heartbeat_age_seconds", "orbit_leader",
		"orbit_satellite_kubernetes_apply_duration_seconds_bucket", "orbit_satellite_desired_mirror_lag_revisions",
		"orbit_satellite_desired_mirror_lag_seconds", "orbit_satellite_hub_connected", "orbit_satellite_kafka_admin_requests_total",
		"orbit_satellite_kafka_admin_request_duration_seconds_bucket", "orbit_satellite_clusters",
		"orbit_satellite_certificate_expiry_timestamp_seconds",
		"orbit_hub_leafnode_connections", "orbit_hub_jetstream_streams", "orbit_hub_jetstream_storage_bytes",
		"orbit_hub_jetstream_api_requests_total", "orbit_hub_jetstream_stream_messages", "orbit_hub_jetstream_meta_leader",
	} {
		if s, err := p.query(name); err != nil || len(s) == 0 {
			t.Errorf("series %s: %d samples, %v", name, len(s), err)
		}
	}
	for _, want := range []struct {
		expr string
		ok   func(float64) bool
	}{
		{`sum(orbit_leader)`, ready(1)},
		{`sum(orbit_satellite_connected{satellite="r1"})`, ready(1)},
		{`sum(orbit_satellites{state="connected"})`, ready(1)},
		{`sum(orbit_satellite_hub_connected{satellite="r1"})`, ready(1)},
		{`max(orbit_satellite_heartbeat_age_seconds{satellite="r1"})`, func(v float64) bool { return v < 30 }},
		{`sum(orbit_outbox_published_total)`, func(v float64) bool { return v >= 2 }},
		{`max(orbit_outbox_pending)`, ready(0)},
		{`sum(orbit_hub_leafnode_connections)`, ready(1)}, // the dev satellite's link
		{`sum(orbit_hub_jetstream_stream_messages{stream="KV_desired"})`, func(v float64) bool { return v >= 2 }},
	} {
		p.eventually(t, 30*time.Second, want.expr, want.ok)
	}

	// Resized: the physical controller and the satellite's loops reconcile it again.
	physicalBefore = count(`controller_runtime_reconcile_total{job="orbit-mothership",controller="physical"}`)
	stsApplies = count(`orbit_satellite_kubernetes_apply_duration_seconds_count{kind="StatefulSet"}`)
	operator := count(`controller_runtime_reconcile_total{job="orbit-satellite",controller="operator"}`)
	cku := 2
	if _, err := client.UpdateCluster(ctx, "resized", api.ClusterUpdate{CKU: &cku}); err != nil {
		t.Fatal(err)
	}
	readyWithin("resized", 6)
	p.eventually(t, 30*time.Second, `sum(orbit_api_requests_total{route="PATCH /v1/clusters/{name}",code=~"2.."})`, ready(1))
	p.eventually(t, 30*time.Second, `sum(controller_runtime_reconcile_total{job="orbit-mothership",controller="physical"})`,
		func(v float64) bool { return v > physicalBefore })
	p.eventually(t, 30*time.Second, `sum(orbit_satellite_kubernetes_apply_duration_seconds_count{kind="StatefulSet"})`,
		func(v float64) bool { return v > stsApplies })
	p.eventually(t, 30*time.Second, `sum(controller_runtime_reconcile_total{job="orbit-satellite",controller="operator"})`,
		func(v float64) bool { return v > operator })

	// What the mothership, the satellites and the hub serve passes promtool's lint.
	for _, path := range []string{"/metrics", "/satellites/metrics", "/hub/metrics"} {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if out := runTool(t, bytes.NewReader(body), promtool, "check", "metrics"); strings.TrimSpace(out) != "" {
			t.Errorf("promtool check metrics on %s:\n%s", path, out)
		}
	}

	// Every dashboard query runs and returns data for this fleet.
	for panel, expr := range dashboardQueries(t) {
		testkit.CheckFor(t, 20*time.Second, func() error {
			s, err := p.query(expr)
			if err == nil && len(s) == 0 {
				err = fmt.Errorf("no data")
			}
			if err != nil {
				return fmt.Errorf("%s: %s: %w", panel, expr, err)
			}
			return nil
		})
	}

	// Deleted: it leaves the ready clusters, and its satellite reports it deleted.
	if _, err := client.DeleteCluster(ctx, "resized"); err != nil {
		t.Fatal(err)
	}
	p.eventually(t, 60*time.Second, `sum(orbit_clusters{phase="ready"})`, ready(1))
	p.eventually(t, 60*time.Second, `sum(orbit_cluster_phase{cluster="`+pkc+`",phase=~"deleting|deleted|purged"})`, ready(1))
	p.eventually(t, 30*time.Second, `sum(orbit_api_requests_total{route="DELETE /v1/clusters/{name}",code=~"2.."})`, ready(1))

	// The hub link is cut: the disconnected alert fires within its `for` window (10 s here)
	// plus the time to notice, and clears after the heal.
	firing := `count(ALERTS{alertname="OrbitSatelliteDisconnected",alertstate="firing",satellite="r1"}) or vector(0)`
	if v, _ := p.value(firing); v != 0 {
		t.Fatalf("OrbitSatelliteDisconnected fires before the cut")
	}
	proxy.Cut()
	cut := time.Now()
	p.eventually(t, 40*time.Second, firing, ready(1))
	took := time.Since(cut)
	t.Logf("OrbitSatelliteDisconnected fired %s after the cut", took.Round(time.Second))
	if took < 10*time.Second {
		t.Errorf("fired after %s, before its for window (10s) could pass", took)
	}
	// Cut off, the satellite's mirror is not known to be caught up, and its heartbeats stop.
	p.eventually(t, 20*time.Second, `max(orbit_satellite_desired_mirror_lag_seconds{satellite="r1"})`, func(v float64) bool { return v >= 10 })
	p.eventually(t, 20*time.Second, `max(orbit_satellite_heartbeat_age_seconds{satellite="r1"})`, func(v float64) bool { return v >= 10 })
	proxy.Heal()
	p.eventually(t, 60*time.Second, firing, ready(0))
	p.eventually(t, 30*time.Second, `sum(orbit_satellite_hub_connected{satellite="r1"})`, ready(1))
	p.eventually(t, 30*time.Second, `max(orbit_satellite_desired_mirror_lag_seconds{satellite="r1"})`, func(v float64) bool { return v < 5 })
	p.eventually(t, 30*time.Second, `max(orbit_satellite_heartbeat_age_seconds{satellite="r1"})`, func(v float64) bool { return v < 15 })
}
