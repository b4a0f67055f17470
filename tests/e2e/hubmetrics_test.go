package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestHubNodeServesMetrics runs `mothership hub` with ORBIT_METRICS_LISTEN and scrapes it:
// Go, process and hub series are there, the buckets' streams appear once the mothership
// (its seed file, over the client listener) creates them, and promtool finds nothing to
// say about the exposition.
func TestHubNodeServesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	promtool := prometheusTool(t, "promtool")
	bin := buildBinary(t, "github.com/orbitcp/orbit/cmd/mothership")
	dir := t.TempDir()
	natsAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	metricsAddr, _ := devstack.FreePort("127.0.0.1")
	seedFile := filepath.Join(dir, "nats-seed")
	var logs lockedBuffer
	hub := exec.Command(bin, "--log-level", "warn", "hub", "--data-dir", dir, "--nats-listen", natsAddr,
		"--nats-seed-file", seedFile, "--leaf-listen", leaf)
	hub.Env = append(os.Environ(), "ORBIT_METRICS_LISTEN="+metricsAddr)
	hub.Stdout, hub.Stderr = &logs, &logs
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hub.Process.Kill()
		_ = hub.Wait()
		if t.Failed() {
			t.Logf("mothership hub:\n%s", logs.String())
		}
	})
	scrape := func() (string, error) {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("/metrics: %s", resp.Status)
		}
		return string(body), err
	}
	var body string
	testkit.CheckFor(t, 30*time.Second, func() error {
		var err error
		body, err = scrape()
		return err
	})
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "orbit_hub_leafnode_connections", "orbit_hub_client_connections",
		"orbit_hub_jetstream_streams", "orbit_hub_jetstream_storage_bytes", "orbit_hub_jetstream_api_requests_total", "orbit_hub_jetstream_meta_leader"} {
		if sampleValue(body, name) < 0 {
			t.Errorf("series %s missing", name)
		}
	}

	// The mothership creates the buckets: the hub's metrics show their streams.
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+natsAddr, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kv.EnsureHub(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		body, err = scrape()
		if err != nil {
			return err
		}
		if v := sampleValue(body, "orbit_hub_jetstream_streams"); v < 3 {
			return fmt.Errorf("orbit_hub_jetstream_streams = %v, want the 3 buckets' streams", v)
		}
		if v := sampleValue(body, `orbit_hub_jetstream_stream_messages{stream="`+kv.StreamName(kv.BucketDesired)+`"}`); v != 0 {
			return fmt.Errorf("KV_desired's message count = %v, want 0", v)
		}
		if v := sampleValue(body, "orbit_hub_client_connections"); v < 1 {
			return fmt.Errorf("orbit_hub_client_connections = %v with the mothership connected", v)
		}
		return nil
	})
	if out := runTool(t, bytes.NewReader([]byte(body)), promtool, "check", "metrics"); strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics:\n%s", out)
	}
}

// sampleValue is the value of the series written exactly as series (name and labels) in a
// Prometheus text exposition; -1 if it is not there.
func sampleValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				return v
			}
		}
	}
	return -1
}
