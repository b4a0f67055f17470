package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/mothership/onboarding"
)

// runFleet: S lite satellites × C clusters each on one mothership, run as its own process
// (`mothership run` on SQLite) so that its memory and CPU are its own: the peak RSS once
// every cluster's desired state is at its satellite, the time a satellite with an empty
// store takes to sync its C keys, and the mothership's CPU while the fleet is idle (only
// heartbeats).
func runFleet(ctx context.Context, o options) ([]Result, error) {
	sats, per, idle := 100, 1000, 30*time.Second
	if o.quick {
		sats, per, idle = 10, 100, 5*time.Second
	}
	dir, err := os.MkdirTemp("", "orbit-bench-fleet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "mothership-bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/orbitcp/orbit/cmd/mothership")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building the mothership: %w", err)
	}

	// The store: an API key and S onboarded satellites, one region each.
	dataDir := filepath.Join(dir, "mothership")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	store, err := db.Open(ctx, filepath.Join(dataDir, "orbit.db"))
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	if err := frontend.EnsureAPIKey(ctx, store, "bench", api.RoleOperator, benchKey, "bench"); err != nil {
		return nil, err
	}
	seeds := make([][]byte, sats)
	for i := range sats {
		kp, _ := nkeys.CreateUser()
		pub, _ := kp.PublicKey()
		seeds[i], _ = kp.Seed()
		name := satName(i)
		if err := onboarding.Add(ctx, store, onboarding.SatelliteSpec{Name: name, Region: name, Cloud: "aws", Networks: []string{"public"}, NKey: pub}); err != nil {
			return nil, err
		}
	}
	store.Close()

	apiAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	proc := exec.CommandContext(ctx, bin, "--log-level", "error", "run", "--data-dir", dataDir, "--listen", apiAddr, "--leaf-listen", leaf, "--debug-listen", os.Getenv("ORBIT_BENCH_DEBUG_LISTEN"))
	proc.Stderr = os.Stderr
	if err := proc.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = proc.Process.Kill(); _, _ = proc.Process.Wait() }()
	client, _ := api.NewClient("http://"+apiAddr, benchKey, nil)
	if err := until(30*time.Second, func() error { _, err := client.ListClusters(ctx); return err }); err != nil {
		return nil, fmt.Errorf("the mothership did not come up: %w", err)
	}

	// The satellites, counting the keys that reach each.
	counts := make([]atomic.Int64, sats)
	lites := make([]*liteSat, sats)
	defer func() {
		for _, l := range lites {
			if l != nil {
				l.stop()
			}
		}
	}()
	for i := range sats {
		l, _, err := startLiteSat(ctx, satName(i), "nats-leaf://"+leaf, seeds[i], filepath.Join(dir, "sat", strconv.Itoa(i)),
			func(e jetstream.KeyValueEntry, _ time.Time) {
				if e.Revision() > 0 {
					counts[i].Add(1)
				}
			})
		if err != nil {
			return nil, err
		}
		lites[i] = l
	}

	// The clusters, created through the API by 32 clients.
	start := time.Now()
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := int(next.Add(1)) - 1
				if n >= sats*per {
					return
				}
				sat := n % sats
				_, err := client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("f%d", n), Product: "kafka", CKU: 1, Region: satName(sat)})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create f%d: %w", n, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	created := time.Since(start)
	if err := until(30*time.Minute, func() error {
		for i := range counts {
			if c := counts[i].Load(); c < int64(per) {
				return fmt.Errorf("%s has %d of %d", satName(i), c, per)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	converged := time.Since(start)

	// A satellite with an empty store: how long until its mirror holds its C keys.
	lites[0].stop()
	lites[0] = nil
	fresh := filepath.Join(dir, "sat", "fresh")
	var got atomic.Int64
	syncStart := time.Now()
	l, _, err := startLiteSat(ctx, satName(0), "nats-leaf://"+leaf, seeds[0], fresh, func(e jetstream.KeyValueEntry, _ time.Time) { got.Add(1) })
	if err != nil {
		return nil, err
	}
	lites[0] = l
	if err := until(5*time.Minute, func() error {
		if n := got.Load(); n < int64(per) {
			return fmt.Errorf("initial sync: %d of %d keys", n, per)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	initialSync := time.Since(syncStart)

	// Idle: nothing changes; the satellites heartbeat. First the controllers work off the
	// events of the creation (most reconciles are no-ops by then): idle starts when none
	// has anything left, three times in a row.
	if err := waitDrained(ctx, client, 30*time.Minute); err != nil {
		return nil, err
	}
	drained := time.Since(start)
	cpu0, err := procCPU(proc.Process.Pid)
	if err != nil {
		return nil, err
	}
	idleStart := time.Now()
	time.Sleep(idle)
	cpu1, _ := procCPU(proc.Process.Pid)
	idleCPU := (cpu1 - cpu0).Seconds() / time.Since(idleStart).Seconds() * 100
	hwm, rss, err := procMemory(proc.Process.Pid)
	if err != nil {
		return nil, err
	}
	return []Result{{Scenario: "fleet", System: "orbit",
		Params: map[string]any{"satellites": sats, "clusters_per_satellite": per, "clusters": sats * per, "db": "sqlite"},
		Figures: map[string]float64{
			"peak_rss_mib": hwm / 1024, "rss_mib": rss / 1024, "idle_cpu_pct": idleCPU,
			"initial_sync_ms": ms(initialSync), "create_s": created.Seconds(), "all_at_satellites_s": converged.Seconds(),
			"controllers_drained_s": drained.Seconds(),
		},
		Notes: "mothership as its own process (VmHWM); idle CPU in % of one core, measured once the controllers have worked off every event; initial sync of one satellite's keys into an empty store"}}, nil
}

func satName(i int) string { return fmt.Sprintf("sat-%03d", i) }

// waitDrained waits until no controller of the mothership has an event left to reconcile,
// at three polls a second apart.
func waitDrained(ctx context.Context, client *api.Client, limit time.Duration) error {
	quiet := 0
	for deadline := time.Now().Add(limit); quiet < 3; time.Sleep(time.Second) {
		cs, err := client.ListControllers(ctx)
		if err != nil {
			return err
		}
		quiet++
		for _, c := range cs {
			if c.Pending > 0 || c.Unacked > 0 || c.Queued > 0 {
				if time.Now().After(deadline) {
					return fmt.Errorf("controller %s still behind after %v: %+v", c.Name, limit, c)
				}
				quiet = 0
			}
		}
	}
	return nil
}

// until retries fn until it succeeds or limit passes.
func until(limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procCPU is the user+system CPU time a process has used (Linux /proc).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces) start after ") ".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// procMemory is a process's peak and current resident set size in KiB (Linux /proc).
func procMemory(pid int) (peak, current float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmHWM:":
			peak = v
		case "VmRSS:":
			current = v
		}
	}
	return peak, current, sc.Err()
}
