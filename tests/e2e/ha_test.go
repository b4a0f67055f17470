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
// fenced, it steps down. API
// requests to the surviving replicas keep succeeding, and in the end every accepted change
// is there exactly once and converged. It prints the measured failover and hand-off times.
func TestHighlyAvailableMothership(t *testing.T) {
	pg := hubtest.PostgresURL(t)
	if pg == "" {
		t.Skip("several replicas need PostgreSQL (ORBIT_TEST_POSTGRES)")
	}
	bin := buildMothership(t)
	ctx := context.Background()
	dir := t.TempDir()
	dsn, err := db.CreateFreshPostgres(ctx, pg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := frontend.EnsureAPIKey(ctx, store, "ops", api.RoleOperator, testKey, "ha test"); err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	satSeed, _ := kp.Seed()
	if err := onboarding.Add(ctx, store, onboarding.SatelliteSpec{Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, NKey: pub}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	// The hub node, then three replicas connecting to it with the identity it minted.
	natsAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	seedFile := filepath.Join(dir, "mothership.nk")
	hub := &replica{id: "hub", args: []string{"hub", "--data-dir", filepath.Join(dir, "hub"), "--db", dsn, "--nats-listen", natsAddr,
		"--nats-seed-file", seedFile, "--leaf-listen", leaf, "--access-interval", "500ms"}}
	hub.proc = exec.Command(bin, hub.args...)
	if err := hub.proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.stop(syscall.SIGKILL) })
	testkit.CheckFor(t, 30*time.Second, func() error { _, err := os.Stat(seedFile); return err })

	replicas := make([]*replica, 3)
	for i := range replicas {
		addr, _ := devstack.FreePort("127.0.0.1")
		client, _ := api.NewClient("http://"+addr, testKey, nil)
		r := &replica{id: fmt.Sprintf("r%d", i), api: client, args: []string{"run", "--data-dir", filepath.Join(dir, fmt.Sprintf("r%d", i)),
			"--db", dsn, "--listen", addr, "--nats-url", "nats://" + natsAddr, "--nats-seed-file", seedFile,
			"--replica-id", fmt.Sprintf("r%d", i), "--lease-ttl", haLease.String()}}
		r.start(t, bin)
		t.Cleanup(func() { r.stop(syscall.SIGKILL) })
		replicas[i] = r
	}
	sat, err := devstack.StartSatellite(ctx, devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"},
		Dir: filepath.Join(dir, "satellite"), HubURLs: []string{"nats-leaf://" + leaf}, Seed: satSeed,
		Sim: simkube.New(5*time.Millisecond, nil, satellite.CustomResources), Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sat.Stop()

	m := &model{cku: map[string]int{}, deleted: map[string]bool{}, changes: map[string]int{}}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	next, failed, sent := 0, 0, 0
	var failovers, handoffs []time.Duration
	// send makes one change through a replica that is up (not stopped).
	send := func(up []*replica) {
		op, name, cku := pickOp(rng, m, &next)
		for op == "delete" { // creates and resizes only: deleted clusters would wait out their retention
			op, name, cku = pickOp(rng, m, &next)
		}
		r := up[sent%len(up)]
		sent++
		if err := do(ctx, r.api, op, name, cku); err != nil {
			failed++
			t.Logf("%s %s through %s: %v", op, name, r.id, err)
			return
		}
		m.apply(op, name, cku)
	}
	for round, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGKILL, syscall.SIGTERM} {
		leader := currentLeader(t, replicas)
		var up []*replica
		for _, r := range replicas {
			if r != leader {
				up = append(up, r)
			}
		}
		for range 10 {
			send(replicas)
		}
		stopped := time.Now()
		leader.stop(sig)
		// Changes keep coming through the survivors while they elect a new leader.
		var next *replica
		for next == nil {
			send(up)
			for _, r := range up {
				if l, err := r.api.Leader(ctx); err == nil && l.Leading {
					next = r
				}
			}
			if time.Since(stopped) > 5*haLease {
				t.Fatalf("round %d: no replica leads %v after the leader got %v", round, time.Since(stopped), sig)
			}
		}
		took := time.Since(stopped)
		if sig == syscall.SIGKILL {
			failovers = append(failovers, took)
		} else {
			handoffs = append(handoffs, took)
		}
		t.Logf("round %d: %v of the leader %s → %s leads after %v", round, sig, leader.id, next.id, took.Round(time.Millisecond))
		leader.start(t, bin)
		converge(t, next.api, m)
	}
	// A leader frozen past its lease (SIGSTOP), then resumed after another took over: the
	// fence refuses its writes and it steps down.
	frozen := currentLeader(t, replicas)
	var up []*replica
	for _, r := range replicas {
		if r != frozen {
			up = append(up, r)
		}
	}
	if err := frozen.proc.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	var successor *replica
	for successor == nil {
		send(up)
		for _, r := range up {
			if l, err := r.api.Leader(ctx); err == nil && l.Leading {
				successor = r
			}
		}
		if time.Since(stoppedAt) > 10*haLease+10*time.Second { // a freeze inside a transaction waits out the idle timeout
			t.Fatalf("no replica took over from the frozen leader after %v", time.Since(stoppedAt))
		}
	}
	t.Logf("SIGSTOP of the leader %s → %s leads after %v", frozen.id, successor.id, time.Since(stoppedAt).Round(time.Millisecond))
	if err := frozen.proc.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*haLease, func() error {
		l, err := frozen.api.Leader(ctx)
		if err != nil {
			return err
		}
		if l.Leading || l.Holder != successor.id {
			return fmt.Errorf("the resumed replica %s: leading %v, holder %q (want %s)", frozen.id, l.Leading, l.Holder, successor.id)
		}
		return nil
	})
	converge(t, successor.api, m)

	if failed != 0 {
		t.Errorf("%d of %d API requests to running replicas failed during the rounds (goal 0)", failed, sent)
	}
	for _, r := range replicas {
		converge(t, r.api, m)
	}
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
