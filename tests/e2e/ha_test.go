package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/mothership/onboarding"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// haLease is the replicas' lease in this test: short, so that rounds are quick; failover
// takes about a lease.
const haLease = 3 * time.Second

// replica is one `mothership run` process, a client of the hub node.
type replica struct {
	id   string
	args []string
	api  *api.Client
	proc *exec.Cmd
}

func (r *replica) start(t *testing.T, bin string) {
	t.Helper()
	r.proc = exec.Command(bin, r.args...)
	if os.Getenv("ORBIT_TEST_LOG") != "" {
		r.proc.Stderr = os.Stderr
	}
	if err := r.proc.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error { _, err := r.api.Leader(context.Background()); return err })
}

func (r *replica) stop(sig syscall.Signal) {
	if r.proc != nil && r.proc.ProcessState == nil {
		_ = r.proc.Process.Signal(sig)
		_, _ = r.proc.Process.Wait()
	}
}

// TestHighlyAvailableMothership runs three mothership replicas on one PostgreSQL as NATS
// clients of a hub node, under a stream of creates and resizes sent round-robin to the
// replicas that are up. Each round stops the leader — SIGKILL (another replica takes over
// once its lease runs out) or SIGTERM (it hands over at once) — and brings it back; a last
// round freezes the leader (SIGSTOP) past its lease and resumes it after another took over:
// fenced, it steps down. API requests to the surviving replicas keep succeeding, and in the
// end every accepted change is there exactly once and converged; with every process stopped,
// the hub's JetStream files agree with SQL as in the SIGKILL rounds. It prints the measured failover and hand-off times.
func TestHighlyAvailableMothership(t *testing.T) {
	pg := hubtest.PostgresURL(t)
	if pg == "" {
		t.Skip("several replicas need PostgreSQL (ORBIT_TEST_POSTGRES)")
	}
	f := startHAFleet(t, pg)
	var failovers, handoffs []time.Duration
	for round, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGKILL, syscall.SIGTERM} {
		took := f.stopLeader(round, sig)
		if sig == syscall.SIGKILL {
			failovers = append(failovers, took)
		} else {
			handoffs = append(handoffs, took)
		}
	}
	f.freezeLeader()
	if f.failed != 0 {
		t.Errorf("%d of %d API requests to running replicas failed during the rounds (goal 0)", f.failed, f.sent)
	}
	for _, r := range f.replicas {
		converge(t, r.api, f.m)
	}
	// With every process stopped, the hub's JetStream files and the database agree: EVENTS
	// holds each published outbox row once, and desired never runs ahead of SQL.
	for _, r := range f.replicas {
		r.stop(syscall.SIGTERM)
	}
	f.hub.stop(syscall.SIGTERM)
	inspectOffline(t, f.hubDir, f.dsn)
	report := func(what string, d []time.Duration) {
		slices.Sort(d)
		t.Logf("%s: median %v, worst %v over %d rounds (lease %v)", what, d[len(d)/2].Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond), len(d), haLease)
	}
	report("failover after SIGKILL", failovers)
	report("hand-off after SIGTERM", handoffs)
	// Generous bounds only: the figures themselves are reported, not asserted tightly.
	if slices.Max(failovers) > haLease+10*time.Second || slices.Max(handoffs) > 10*time.Second {
		t.Errorf("failover %v, hand-off %v: beyond the generous bounds", failovers, handoffs)
	}
}

// haFleet is the test's control plane — a hub node, three replicas — with a satellite, and
// the model of what the API accepted.
type haFleet struct {
	t        *testing.T
	ctx      context.Context
	bin      string
	replicas []*replica
	hub      *replica
	hubDir   string
	dsn      string
	m        *model
	rng      *rand.Rand
	next     int
	// sent and failed count the API requests to replicas that were up.
	sent, failed int
}

func startHAFleet(t *testing.T, pg string) *haFleet {
	f := &haFleet{t: t, ctx: context.Background(), bin: buildMothership(t),
		m:   &model{cku: map[string]int{}, deleted: map[string]bool{}, changes: map[string]int{}},
		rng: rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))}
	dir := t.TempDir()
	dsn, satSeed := haDatabase(t, pg)

	// The hub node, then three replicas connecting to it with the identity it minted.
	natsAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	seedFile := filepath.Join(dir, "mothership.nk")
	f.dsn, f.hubDir = dsn, filepath.Join(dir, "hub")
	hub := &replica{id: "hub", args: []string{"hub", "--data-dir", f.hubDir, "--db", dsn, "--nats-listen", natsAddr,
		"--nats-seed-file", seedFile, "--leaf-listen", leaf, "--access-interval", "500ms"}}
	hub.proc = exec.Command(f.bin, hub.args...)
	if err := hub.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.stop(syscall.SIGKILL) })
	f.hub = hub
	testkit.CheckFor(t, 30*time.Second, func() error { _, err := os.Stat(seedFile); return err })
	for i := range 3 {
		addr, _ := devstack.FreePort("127.0.0.1")
		client, _ := api.NewClient("http://"+addr, testKey, nil)
		r := &replica{id: fmt.Sprintf("r%d", i), api: client, args: []string{"run", "--data-dir", filepath.Join(dir, fmt.Sprintf("r%d", i)),
			"--db", dsn, "--listen", addr, "--nats-url", "nats://" + natsAddr, "--nats-seed-file", seedFile,
			"--replica-id", fmt.Sprintf("r%d", i), "--lease-ttl", haLease.String()}}
		r.start(t, f.bin)
		t.Cleanup(func() { r.stop(syscall.SIGKILL) })
		f.replicas = append(f.replicas, r)
	}
	sat, err := devstack.StartSatellite(f.ctx, devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"},
		Dir: filepath.Join(dir, "satellite"), HubURLs: []string{"nats-leaf://" + leaf}, Seed: satSeed,
		Sim: simkube.New(5*time.Millisecond, nil, satellite.CustomResources), Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sat.Stop() })
	return f
}

// haDatabase makes the replicas' database, with an operator key and the satellite
// onboarded, and returns its DSN and the satellite's seed.
func haDatabase(t *testing.T, pg string) (string, []byte) {
	ctx := context.Background()
	dsn, err := db.CreateFreshPostgres(ctx, pg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := frontend.EnsureAPIKey(ctx, store, "ops", api.RoleOperator, testKey, "ha test"); err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	if err := onboarding.Add(ctx, store, onboarding.SatelliteSpec{Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, NKey: pub}); err != nil {
		t.Fatal(err)
	}
	return dsn, seed
}

// send makes one change (a create or a resize) through one of the replicas in up.
func (f *haFleet) send(up []*replica) {
	op, name, cku := pickOp(f.rng, f.m, &f.next)
	for op == "delete" { // creates and resizes only: deleted clusters would wait out their retention
		op, name, cku = pickOp(f.rng, f.m, &f.next)
	}
	r := up[f.sent%len(up)]
	f.sent++
	if err := do(f.ctx, r.api, op, name, cku); err != nil {
		f.failed++
		f.t.Logf("%s %s through %s: %v", op, name, r.id, err)
		return
	}
	f.m.apply(op, name, cku)
}

// others are the replicas but r.
func (f *haFleet) others(r *replica) []*replica {
	var up []*replica
	for _, o := range f.replicas {
		if o != r {
			up = append(up, o)
		}
	}
	return up
}

// successor sends changes through up until one of them leads, and returns it.
func (f *haFleet) successor(up []*replica, since time.Time, limit time.Duration, what string) *replica {
	for {
		f.send(up)
		for _, r := range up {
			if l, err := r.api.Leader(f.ctx); err == nil && l.Leading {
				return r
			}
		}
		if time.Since(since) > limit {
			f.t.Fatalf("%s: no replica leads %v later", what, time.Since(since))
		}
	}
}

// stopLeader stops the leader with sig under a stream of changes, returns how long until
// another replica led, starts it again and waits for everything to converge.
func (f *haFleet) stopLeader(round int, sig syscall.Signal) time.Duration {
	leader := currentLeader(f.t, f.replicas)
	for range 10 {
		f.send(f.replicas)
	}
	stopped := time.Now()
	leader.stop(sig)
	next := f.successor(f.others(leader), stopped, 5*haLease, fmt.Sprintf("round %d (%v)", round, sig))
	took := time.Since(stopped)
	f.t.Logf("round %d: %v of the leader %s → %s leads after %v", round, sig, leader.id, next.id, took.Round(time.Millisecond))
	leader.start(f.t, f.bin)
	converge(f.t, next.api, f.m)
	return took
}

// freezeLeader stops the leader (SIGSTOP) past its lease and resumes it after another took
// over: fenced, it steps down.
func (f *haFleet) freezeLeader() {
	frozen := currentLeader(f.t, f.replicas)
	if err := frozen.proc.Process.Signal(syscall.SIGSTOP); err != nil {
		f.t.Fatal(err)
	}
	stopped := time.Now()
	// A freeze inside a transaction also waits out PostgreSQL's idle-in-transaction timeout.
	successor := f.successor(f.others(frozen), stopped, 10*haLease+10*time.Second, "SIGSTOP")
	f.t.Logf("SIGSTOP of the leader %s → %s leads after %v", frozen.id, successor.id, time.Since(stopped).Round(time.Millisecond))
	if err := frozen.proc.Process.Signal(syscall.SIGCONT); err != nil {
		f.t.Fatal(err)
	}
	testkit.CheckFor(f.t, 5*haLease, func() error {
		l, err := frozen.api.Leader(f.ctx)
		if err != nil {
			return err
		}
		if l.Leading || l.Holder != successor.id {
			return fmt.Errorf("the resumed replica %s: leading %v, holder %q (want %s)", frozen.id, l.Leading, l.Holder, successor.id)
		}
		return nil
	})
	converge(f.t, successor.api, f.m)
}

// currentLeader is the replica that says it leads.
func currentLeader(t *testing.T, replicas []*replica) *replica {
	t.Helper()
	var leader *replica
	testkit.CheckFor(t, 30*time.Second, func() error {
		for _, r := range replicas {
			if l, err := r.api.Leader(context.Background()); err == nil && l.Leading {
				leader = r
				return nil
			}
		}
		return fmt.Errorf("no replica leads")
	})
	return leader
}
