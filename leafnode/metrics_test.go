package leafnode

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestHubMetricsFollowLeafsAndStreams scrapes a hub's handler: Go and process metrics are
// there, the buckets' streams are counted and labelled, and the leaf-node connection
// count follows a satellite connecting and leaving.
func TestHubMetricsFollowLeafsAndStreams(t *testing.T) {
	th := startTestHub(t, "s1")
	h := th.hub.MetricsHandler()
	scrape := func() map[string]float64 {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
		}
		return parseMetrics(t, rec.Body.String())
	}
	m := scrape()
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "orbit_hub_received_messages_total", "orbit_hub_jetstream_api_requests_total"} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if got := m["orbit_hub_jetstream_streams"]; got < 3 {
		t.Errorf("orbit_hub_jetstream_streams = %v, want the 3 buckets' streams at least", got)
	}
	if got := m["orbit_hub_jetstream_meta_leader"]; got != 1 {
		t.Errorf("a single hub server leads itself: orbit_hub_jetstream_meta_leader = %v", got)
	}
	if got := m["orbit_hub_leafnode_connections"]; got != 0 {
		t.Errorf("no satellite yet: orbit_hub_leafnode_connections = %v", got)
	}
	desired := fmt.Sprintf("orbit_hub_jetstream_stream_messages{stream=%q}", kv.StreamName(kv.BucketDesired))
	before := m[desired]
	th.put(t, kv.BucketDesired, "s1.kafka.c1", "v")
	th.put(t, kv.BucketDesired, "s1.kafka.c2", "v")
	if got := scrape()[desired]; got != before+2 {
		t.Errorf("%s = %v after two puts, want %v", desired, got, before+2)
	}

	leaf := startTestLeaf(t, th, "s1", th.keys["s1"])
	if got := scrape()["orbit_hub_leafnode_connections"]; got != 1 {
		t.Errorf("one satellite connected: orbit_hub_leafnode_connections = %v", got)
	}
	leaf.leaf.Shutdown()
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := scrape()["orbit_hub_leafnode_connections"]; got != 0 {
			return fmt.Errorf("satellite gone: orbit_hub_leafnode_connections = %v", got)
		}
		return nil
	})
}

// parseMetrics reads Prometheus' text format: series (name and labels as written) → value.
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
