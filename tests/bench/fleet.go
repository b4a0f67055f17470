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
	"github.com/orbitcp/orbit/tests/testkit"
)

// runFleet: S lite satellites × C clusters each on one mothership, run as its own process
// (`mothership run` on SQLite) so that its memory and CPU are its own: the peak RSS once
// every cluster's desired state is at its satellite, the time a satellite with an empty
// store takes to sync its C keys, and the mothership's CPU while the fleet is idle (only
// heartbeats).
func runFleet(ctx context.Context, o options) ([]Result, error) {
	f := &fleet{sats: 100, per: 1000}
	idle := 30 * time.Second
	if o.quick {
		f.sats, f.per, idle = 10, 100, 5*time.Second
	}
	dir, err := os.MkdirTemp("", "orbit-bench-fleet-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f.dir = dir
	defer f.stop()

	if err := f.startMothership(ctx); err != nil {
		return nil, err
	}
	if err := f.startSatellites(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := f.createClusters(ctx); err != nil {
		return nil, err
	}
	created := time.Since(start)
	if err := f.waitAllAtSatellites(); err != nil {
		return nil, err
	}
	converged := time.Since(start)
	initialSync, err := f.syncIntoEmptyStore(ctx)
	if err != nil {
		return nil, err
	}
	// Idle: nothing changes; the satellites heartbeat. First the controllers work off the
	// events of the creation (most reconciles are no-ops by then): idle starts when none
	// has anything left, three times in a row.
	if err := waitDrained(ctx, f.client, 30*time.Minute); err != nil {
		return nil, err
	}
	drained := time.Since(start)
	idleCPU, err := f.idleCPU(idle)
	if err != nil {
		return nil, err
	}
	hwm, rss, err := procMemory(f.proc.Process.Pid)
	if err != nil {
		return nil, err
	}
	return []Result{{Scenario: "fleet", System: "orbit",
		Params: map[string]any{"satellites": f.sats, "clusters_per_satellite": f.per, "clusters": f.sats * f.per, "db": "sqlite"},
		Figures: map[string]float64{
			"peak_rss_mib": hwm / 1024, "rss_mib": rss / 1024, "idle_cpu_pct": idleCPU,
			"initial_sync_ms": ms(initialSync), "create_s": created.Seconds(), "all_at_satellites_s": converged.Seconds(),
			"controllers_drained_s": drained.Seconds(),
		},
		Notes: "mothership as its own process (VmHWM); idle CPU in % of one core, measured once the controllers have worked off every event; initial sync of one satellite's keys into an empty store"}}, nil
}

// fleet is the mothership process and its lite satellites, in a directory of their own.
type fleet struct {
	sats, per int // satellites, clusters per satellite
	dir       string

	seeds  [][]byte // each satellite's nkey seed
	leaf   string   // the mothership's leaf listener
	proc   *exec.Cmd
	client *api.Client
	counts []atomic.Int64 // keys that reached each satellite
	lites  []*liteSat
}

// startMothership builds the mothership, onboards the satellites into its store and runs
// it until its API answers.
func (f *fleet) startMothership(ctx context.Context) error {
	bin := filepath.Join(f.dir, "mothership-bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/orbitcp/orbit/cmd/mothership")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the mothership: %w", err)
	}
	dataDir := filepath.Join(f.dir, "mothership")
	if err := f.seedStore(ctx, dataDir); err != nil {
		return err
	}
	apiAddr, _ := devstack.FreePort("127.0.0.1")
	f.leaf, _ = devstack.FreePort("127.0.0.1")
	proc := exec.CommandContext(ctx, bin, "--log-level", "error", "run", "--data-dir", dataDir, "--listen", apiAddr, "--leaf-listen", f.leaf, "--debug-listen", os.Getenv("ORBIT_BENCH_DEBUG_LISTEN"))
	proc.Stderr = os.Stderr
	if err := proc.Start(); err != nil {
		return err
	}
	f.proc = proc
	f.client, _ = api.NewClient("http://"+apiAddr, benchKey, nil)
	if err := testkit.Poll(30*time.Second, func() error { _, err := f.client.ListClusters(ctx); return err }); err != nil {
		return fmt.Errorf("the mothership did not come up: %w", err)
	}
	return nil
}

// seedStore creates the mothership's store with an API key and the satellites onboarded,
// one region each.
func (f *fleet) seedStore(ctx context.Context, dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	store, err := db.Open(ctx, filepath.Join(dataDir, "orbit.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := frontend.EnsureAPIKey(ctx, store, "bench", api.RoleOperator, benchKey, "bench"); err != nil {
		return err
	}
	f.seeds = make([][]byte, f.sats)
	for i := range f.sats {
		kp, _ := nkeys.CreateUser()
		pub, _ := kp.PublicKey()
		f.seeds[i], _ = kp.Seed()
		name := satName(i)
		if err := onboarding.Add(ctx, store, onboarding.SatelliteSpec{Name: name, Region: name, Cloud: "aws", Networks: []string{"public"}, NKey: pub}); err != nil {
			return err
		}
	}
	return nil
}

// startSatellites starts the lite satellites, counting the keys that reach each.
func (f *fleet) startSatellites(ctx context.Context) error {
	f.counts = make([]atomic.Int64, f.sats)
	f.lites = make([]*liteSat, f.sats)
	for i := range f.sats {
		l, _, err := startLiteSat(ctx, satName(i), "nats-leaf://"+f.leaf, f.seeds[i], filepath.Join(f.dir, "sat", strconv.Itoa(i)),
			func(e jetstream.KeyValueEntry, _ time.Time) {
				if e.Revision() > 0 {
					f.counts[i].Add(1)
				}
			})
		if err != nil {
			return err
		}
		f.lites[i] = l
	}
	return nil
}

// createClusters creates every cluster through the API, with 32 clients.
func (f *fleet) createClusters(ctx context.Context) error {
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
				if n >= f.sats*f.per {
					return
				}
				sat := n % f.sats
				_, err := f.client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("f%d", n), Product: "kafka", CKU: 1, Region: satName(sat)})
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
	return firstErr
}

// waitAllAtSatellites waits until every satellite has all its clusters' keys.
func (f *fleet) waitAllAtSatellites() error {
	return testkit.Poll(30*time.Minute, func() error {
		for i := range f.counts {
			if c := f.counts[i].Load(); c < int64(f.per) {
				return fmt.Errorf("%s has %d of %d", satName(i), c, f.per)
			}
		}
		return nil
	})
}

// syncIntoEmptyStore restarts the first satellite with an empty store and returns how long
// until its mirror holds its C keys.
func (f *fleet) syncIntoEmptyStore(ctx context.Context) (time.Duration, error) {
	f.lites[0].stop()
	f.lites[0] = nil
	fresh := filepath.Join(f.dir, "sat", "fresh")
	var got atomic.Int64
	syncStart := time.Now()
	l, _, err := startLiteSat(ctx, satName(0), "nats-leaf://"+f.leaf, f.seeds[0], fresh, func(e jetstream.KeyValueEntry, _ time.Time) { got.Add(1) })
	if err != nil {
		return 0, err
	}
	f.lites[0] = l
	if err := testkit.Poll(5*time.Minute, func() error {
		if n := got.Load(); n < int64(f.per) {
			return fmt.Errorf("initial sync: %d of %d keys", n, f.per)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	return time.Since(syncStart), nil
}

// idleCPU is the mothership's CPU over the next d, in % of one core.
func (f *fleet) idleCPU(d time.Duration) (float64, error) {
	cpu0, err := procCPU(f.proc.Process.Pid)
	if err != nil {
		return 0, err
	}
	idleStart := time.Now()
	time.Sleep(d) // the measurement window
	cpu1, _ := procCPU(f.proc.Process.Pid)
	return (cpu1 - cpu0).Seconds() / time.Since(idleStart).Seconds() * 100, nil
}

// stop stops the satellites, then kills the mothership.
func (f *fleet) stop() {
	for _, l := range f.lites {
		if l != nil {
			l.stop()
		}
	}
	if f.proc != nil {
		_ = f.proc.Process.Kill()
		_, _ = f.proc.Process.Wait()
	}
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
