package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jsm.go"
	jsmapi "github.com/nats-io/jsm.go/api"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// TestHubClusterLosesANodeMidStream runs the production topology: the mothership's hub is
// one node of a three-node NATS cluster (the other two are `mothership hub` processes) and
// every bucket and stream is replicated three times. The satellite knows the leaf
// listeners of the two other nodes. The leaders of the desired, actual and EVENTS streams
// and of the satellite's desired consumer are moved to the node the satellite is attached
// to, and that node is killed with SIGKILL in the middle of a stream of creates, resizes
// and deletes. The satellite goes over to the surviving node, the streams elect new
// leaders, every accepted change converges exactly once, and SQL, desired, actual and
// Kubernetes agree. The killed node then comes back and catches up: every stream has three
// current replicas again.
func TestHubClusterLosesANodeMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hub nodes as processes")
	}
	bin := buildMothership(t)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testHubCluster(t, bin, engine) })
	}
}

// hubNode is a `mothership hub` process: one more node of the hub cluster.
type hubNode struct {
	name, route, leaf string
	args, env         []string
	log               string
	cmd               *exec.Cmd
}

func (n *hubNode) start(t *testing.T, bin string) {
	t.Helper()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, n.args...)
	cmd.Env = append(os.Environ(), n.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", n.name, err)
	}
	n.cmd = cmd
}

func (n *hubNode) kill() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
	n.cmd = nil
}

func testHubCluster(t *testing.T, bin, engine string) {
	dsn := hubClusterStore(t, engine)
	nodes, cluster := startHubNodes(t, bin, dsn)
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) {
		c.DB, c.ServerName, c.Replicas, c.Cluster = dsn, "n1", 3, cluster
	})
	mgr, err := jsm.New(e.cp.Conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range hubStreams {
		if replicas := streamReplicas(t, mgr, s); replicas != 3 {
			t.Fatalf("%s has %d replicas, want 3", s, replicas)
		}
	}

	sat := e.startSatelliteAt("us-west-2", "us-west-2", "aws", []string{"public"}, kv.Capacity{}, nodes[0].leaf, nodes[1].leaf)
	ch := &changer{t: t, client: e.client, m: newModel(), rng: mrand.New(mrand.NewPCG(7, uint64(time.Now().UnixNano())))}
	ch.changes(6)
	converge(t, e.client, ch.m)

	// The victim: the node the satellite is attached to, made leader of everything the
	// satellite depends on.
	victim, survivor := attachedNode(t, sat, nodes)
	for _, s := range hubStreams {
		moveStreamLeader(t, mgr, s, victim.name)
	}
	moveConsumerLeader(t, mgr, kv.StreamName(kv.BucketDesired), kv.DesiredConsumerName("us-west-2"), victim.name)
	t.Logf("killing %s, leader of %v and of the satellite's consumer, the satellite's hub node", victim.name, hubStreams)
	killAt := 10 + ch.rng.IntN(20)
	for i := range 40 {
		if i == killAt {
			victim.kill()
		}
		ch.change()
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, p, _ := net.SplitHostPort(sat.Satellite.HubAddr()); net.JoinHostPort("127.0.0.1", p) != survivor.leaf {
			return fmt.Errorf("the satellite is attached to %q, want %s", sat.Satellite.HubAddr(), survivor.leaf)
		}
		return nil
	})
	converge(t, e.client, ch.m)
	e.agree(sat.Satellite, ch.m)

	// The killed node comes back with its files and catches up.
	victim.start(t, bin)
	for _, s := range hubStreams {
		testkit.CheckFor(t, 60*time.Second, func() error { return streamHealthy(mgr, s) })
	}
	ch.changes(5)
	converge(t, e.client, ch.m)
	e.agree(sat.Satellite, ch.m)
	t.Logf("%d clusters, %d changes; killed %s at change %d", len(ch.m.cku), total(ch.m.changes)+len(ch.m.cku), victim.name, killAt)
}

// hubStreams are the streams the satellite depends on, replicated on every hub node.
var hubStreams = []string{kv.StreamName(kv.BucketDesired), kv.StreamName(kv.BucketActual), kv.StreamEvents}

// hubClusterStore is a migrated store of the engine, which the hub nodes read the
// satellites allowed to connect from.
func hubClusterStore(t *testing.T, engine string) string {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "orbit.db")
	if engine == "postgres" {
		var err error
		if dsn, err = db.CreateFreshPostgres(ctx, hubtest.PostgresURL(t), t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// startHubNodes starts n2 and n3 as `mothership hub` processes, and returns them with the
// cluster configuration that makes the control plane's hub n1; they are killed with the
// test, their logs shown if it failed.
func startHubNodes(t *testing.T, bin, dsn string) ([]*hubNode, *leafnode.ClusterConfig) {
	t.Helper()
	dir := t.TempDir()
	port := func() string {
		t.Helper()
		p, err := devstack.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	const clusterName = "orbit-hub"
	n1Route := port()
	nodes := []*hubNode{{name: "n2", route: port(), leaf: port()}, {name: "n3", route: port(), leaf: port()}}
	routes := []string{"nats-route://" + n1Route}
	for _, n := range nodes {
		routes = append(routes, "nats-route://"+n.route)
	}
	for _, n := range nodes {
		n.log = filepath.Join(dir, n.name+".log")
		n.env = []string{"ORBIT_CLUSTER_SECRET=" + hex.EncodeToString(secret)}
		n.args = []string{"--log-level", "warn", "hub", "--data-dir", filepath.Join(dir, n.name), "--db", dsn,
			"--server-name", n.name, "--cluster-name", clusterName, "--cluster-listen", n.route,
			"--leaf-listen", n.leaf, "--access-interval", "200ms"}
		for _, r := range routes {
			n.args = append(n.args, "--routes", r)
		}
		n.start(t, bin)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill()
			if t.Failed() {
				if b, err := os.ReadFile(n.log); err == nil {
					t.Logf("%s log:\n%s", n.name, b)
				}
			}
		}
	})
	return nodes, &leafnode.ClusterConfig{Name: clusterName, Listen: n1Route, Routes: routes, Secret: hex.EncodeToString(secret)}
}

// attachedNode is the node of nodes the satellite is attached to, and the other one.
func attachedNode(t *testing.T, sat *devstack.SatelliteNode, nodes []*hubNode) (attached, other *hubNode) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, func() error {
		_, p, _ := net.SplitHostPort(sat.Satellite.HubAddr())
		for i, n := range nodes {
			if _, np, _ := net.SplitHostPort(n.leaf); np == p {
				attached, other = n, nodes[1-i]
				return nil
			}
		}
		return fmt.Errorf("the satellite is attached to %q, not to n2 or n3", sat.Satellite.HubAddr())
	})
	return attached, other
}

// changer makes random creates, resizes and deletes through the API and records what the
// API accepted in its model.
type changer struct {
	t      *testing.T
	client *api.Client
	m      *model
	rng    *mrand.Rand
	next   int
}

func (c *changer) change() {
	c.t.Helper()
	op, name, cku := pickOp(c.rng, c.m, &c.next)
	if err := do(context.Background(), c.client, op, name, cku); err != nil {
		c.t.Fatalf("%s %s: %v", op, name, err)
	}
	c.m.apply(op, name, cku)
}

func (c *changer) changes(n int) {
	c.t.Helper()
	for range n {
		c.change()
	}
}

func streamReplicas(t *testing.T, mgr *jsm.Manager, stream string) int {
	t.Helper()
	s, err := mgr.LoadStream(stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.Replicas()
}

// moveStreamLeader has the stream's leader step down until the preferred node leads.
func moveStreamLeader(t *testing.T, mgr *jsm.Manager, stream, node string) {
	t.Helper()
	testkit.CheckFor(t, 30*time.Second, func() error {
		s, err := mgr.LoadStream(stream)
		if err != nil {
			return err
		}
		ci, err := s.ClusterInfo()
		if err != nil {
			return err
		}
		if ci.Leader == node {
			return nil
		}
		if ci.Leader != "" {
			_ = s.LeaderStepDown(&jsmapi.Placement{Preferred: node})
		}
		return fmt.Errorf("%s is led by %q", stream, ci.Leader)
	})
}

func moveConsumerLeader(t *testing.T, mgr *jsm.Manager, stream, consumer, node string) {
	t.Helper()
	testkit.CheckFor(t, 30*time.Second, func() error {
		c, err := mgr.LoadConsumer(stream, consumer)
		if err != nil {
			return err
		}
		ci, err := c.ClusterInfo()
		if err != nil {
			return err
		}
		if ci.Leader == node {
			return nil
		}
		if ci.Leader != "" {
			_ = c.LeaderStepDown(&jsmapi.Placement{Preferred: node})
		}
		return fmt.Errorf("consumer %s is led by %q", consumer, ci.Leader)
	})
}

// streamHealthy checks that a stream has a leader and two more replicas, each online,
// seen within the last second and current with the leader.
func streamHealthy(mgr *jsm.Manager, stream string) error {
	s, err := mgr.LoadStream(stream)
	if err != nil {
		return err
	}
	ci, err := s.ClusterInfo()
	if err != nil {
		return err
	}
	if ci.Leader == "" || len(ci.Replicas) != 2 {
		return fmt.Errorf("%s: leader %q and %d more replicas, want a leader and 2", stream, ci.Leader, len(ci.Replicas))
	}
	var errs []error
	for _, p := range ci.Replicas {
		if p.Offline || !p.Current || p.Lag > 0 || p.Active > time.Second {
			errs = append(errs, fmt.Errorf("%s: replica %s offline=%v current=%v lag=%d last seen %s ago", stream, p.Name, p.Offline, p.Current, p.Lag, p.Active))
		}
	}
	return errors.Join(errs...)
}
