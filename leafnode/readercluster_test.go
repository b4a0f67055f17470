package leafnode

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestReaderAndMetricsInAHubCluster runs the production topology, three hub nodes with the
// buckets replicated three times: a reader on one node watches what the mothership writes
// on another and is refused a durable consumer (the gateways serve the whole cluster); each
// node's metrics count its two routes, and exactly one node leads the meta group.
func TestReaderAndMetricsInAHubCluster(t *testing.T) {
	mkp, mpub := newUserKey(t)
	rkp, rpub := newUserKey(t)
	routes := make([]string, 3)
	listens := make([]string, 3)
	for i := range listens {
		listens[i] = freeLocalPort(t)
		routes[i] = "nats-route://" + listens[i]
	}
	hubs := make([]*Hub, 3)
	for i := range hubs {
		h, err := StartHub(HubConfig{ServerName: fmt.Sprintf("n%d", i+1), StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1",
			MothershipNKey: mpub, Readers: []string{rpub}, Log: testLog(),
			Cluster: &ClusterConfig{Name: "orbit-hub", Listen: listens[i], Routes: routes}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Shutdown)
		hubs[i] = h
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	mjs := jsFor(t, hubs[0], mkp)
	testkit.CheckFor(t, 60*time.Second, func() error {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return kv.EnsureHub(c, mjs, 3)
	})
	mb, err := mjs.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.PutString(ctx, "s1.kafka.c1", "v1"); err != nil {
		t.Fatal(err)
	}

	rjs := readerJS(t, hubs[2], rkp)
	rb, err := rjs.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		t.Fatalf("reader opens desired on another node: %v", err)
	}
	w, err := rb.WatchAll(ctx)
	if err != nil {
		t.Fatalf("reader watches: %v", err)
	}
	defer w.Stop()
	if e := <-w.Updates(); e == nil || string(e.Value()) != "v1" {
		t.Fatalf("reader's watch: %v", e)
	}
	<-w.Updates() // caught up
	if _, err := mb.PutString(ctx, "s1.kafka.c1", "v2"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-w.Updates():
		if e == nil || string(e.Value()) != "v2" {
			t.Fatalf("reader's watch after a put: %v", e)
		}
	case <-ctx.Done():
		t.Fatal("the reader's watch missed a put")
	}
	st, err := rjs.Stream(ctx, kv.StreamName(kv.BucketDesired))
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = st.CreateConsumer(sctx, jetstream.ConsumerConfig{Durable: "operator", FilterSubject: "$KV.desired.>"})
	scancel()
	if err == nil || !strings.Contains(err.Error(), "orbit: ") {
		t.Errorf("durable consumer in a hub cluster: %v, want the gateway's refusal", err)
	}

	testkit.CheckFor(t, 20*time.Second, func() error {
		leaders := 0.0
		for i, h := range hubs {
			rec := scrapeHub(h)
			m := parseMetrics(t, rec)
			if m["orbit_hub_route_connections"] < 2 {
				return fmt.Errorf("n%d: %v routes", i+1, m["orbit_hub_route_connections"])
			}
			leaders += m["orbit_hub_jetstream_meta_leader"]
		}
		if leaders != 1 {
			return fmt.Errorf("%v meta leaders", leaders)
		}
		return nil
	})
}

func scrapeHub(h *Hub) string {
	rec := httptest.NewRecorder()
	h.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func freeLocalPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
