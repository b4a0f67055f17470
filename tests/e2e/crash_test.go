package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
)

// buildMothership compiles the mothership binary once per test run.
func buildMothership(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mothership")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/orbitcp/orbit/cmd/mothership")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building the mothership: %v", err)
	}
	return bin
}

// TestMothershipSIGKILLLosesNothing runs the mothership as a real process, accepts a burst
// of creates, and kills it with SIGKILL the moment the last one is answered: some changes
// are still between the API's commit and the desired bucket. After a restart, every
// accepted cluster converges, each at generation 1: nothing lost, nothing applied twice.
func TestMothershipSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	bin := buildMothership(t)
	dir := t.TempDir()
	ms := newMothershipProcess(t, bin, filepath.Join(dir, "mothership"), "")
	ms.start()
	ms.startSatellite(filepath.Join(dir, "satellite"), 10*time.Millisecond)

	const n = 12
	ctx := context.Background()
	for i := range n {
		if _, err := ms.client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("c%d", i), Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
			t.Fatal(err)
		}
	}
	ms.kill()
	logPipeline(t, ms.dsn)

	ms.start()
	for i := range n {
		waitReadyAtGenerationOne(t, ms.client, fmt.Sprintf("c%d", i))
	}
	checkPhysicalClustersAtGenerationOne(t, ms.dsn, n)
}

// waitReadyAtGenerationOne waits until the cluster is ready, and checks it was changed
// only once.
func waitReadyAtGenerationOne(t *testing.T, client *api.Client, name string) {
	t.Helper()
	var c *api.Cluster
	err := testkit.PollEvery(60*time.Second, 100*time.Millisecond, func() error {
		var err error
		if c, err = client.GetCluster(context.Background(), name); err != nil {
			return err
		}
		return readyWith(3)(c)
	})
	if err != nil {
		t.Fatalf("%s did not converge after the crash: %+v %v", name, c, err)
	}
	if c.Generation != 1 {
		t.Fatalf("%s: generation %d, want 1", name, c.Generation)
	}
}

// checkPhysicalClustersAtGenerationOne checks that each of the n physical clusters was
// derived exactly once: generation 1 everywhere.
func checkPhysicalClustersAtGenerationOne(t *testing.T, dsn string, n int) {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rows, err := store.DB().QueryContext(ctx, "SELECT id, generation FROM physical_clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := 0
	for rows.Next() {
		var id string
		var gen int64
		if err := rows.Scan(&id, &gen); err != nil {
			t.Fatal(err)
		}
		if gen != 1 {
			t.Errorf("physical cluster %s at generation %d", id, gen)
		}
		count++
	}
	if count != n {
		t.Fatalf("%d physical clusters, want %d", count, n)
	}
}

// mothershipProcess is the mothership binary on a store prepared with the test's API key
// and the us-west-2 satellite onboarded; it can be killed and started again.
type mothershipProcess struct {
	t       *testing.T
	bin     string
	dataDir string
	dsn     string // the store: the SQLite file in dataDir unless a PostgreSQL URL was given
	dbFlag  bool   // whether dsn is passed with --db
	apiAddr string
	leaf    string
	seed    []byte // the satellite's nkey seed
	client  *api.Client
	cmd     *exec.Cmd
}

// newMothershipProcess prepares the store at dsn ("": SQLite in dataDir); start runs it.
func newMothershipProcess(t *testing.T, bin, dataDir, dsn string) *mothershipProcess {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &mothershipProcess{t: t, bin: bin, dataDir: dataDir, dsn: dsn, dbFlag: dsn != ""}
	if dsn == "" {
		p.dsn = filepath.Join(dataDir, "orbit.db")
	}
	p.seed = prepareStore(t, p.dsn)
	p.apiAddr, _ = devstack.FreePort("127.0.0.1")
	p.leaf, _ = devstack.FreePort("127.0.0.1")
	client, err := api.NewClient("http://"+p.apiAddr, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.client = client
	t.Cleanup(func() {
		if p.cmd != nil && p.cmd.ProcessState == nil {
			p.kill()
		}
	})
	return p
}

// prepareStore migrates the store at dsn, adds the test's API key and onboards the
// us-west-2 satellite; it returns the satellite's seed.
func prepareStore(t *testing.T, dsn string) []byte {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := frontend.EnsureAPIKey(ctx, store, "crash", api.RoleAdmin, testKey, "crash test"); err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	if err := onboarding.Add(ctx, store, onboarding.SatelliteSpec{Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, NKey: pub}); err != nil {
		t.Fatal(err)
	}
	return seed
}

// start runs the mothership and waits until its API answers.
func (p *mothershipProcess) start() {
	p.t.Helper()
	args := []string{"run", "--data-dir", p.dataDir}
	if p.dbFlag {
		args = append(args, "--db", p.dsn)
	}
	p.cmd = exec.Command(p.bin, append(args, "--listen", p.apiAddr, "--leaf-listen", p.leaf)...)
	if os.Getenv("ORBIT_TEST_LOG") != "" {
		p.cmd.Stderr = os.Stderr
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	testkit.CheckFor(p.t, 30*time.Second, func() error { _, err := p.client.ListClusters(context.Background()); return err })
}

// kill sends SIGKILL and waits for the process to end.
func (p *mothershipProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = p.cmd.Process.Wait()
}

// startSatellite runs the us-west-2 satellite on a simulated Kubernetes whose replicas
// become ready one per step; it stops with the test.
func (p *mothershipProcess) startSatellite(dir string, step time.Duration) {
	p.t.Helper()
	sat, err := devstack.StartSatellite(context.Background(), devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"},
		Dir: dir, HubURLs: []string{"nats-leaf://" + p.leaf}, Seed: p.seed,
		Sim: simkube.New(step, nil, satellite.CustomResources), Log: testLog(p.t),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = sat.Stop() })
}

// logPipeline reports how far the killed mothership got: clusters without a physical
// cluster, placement, and outbox rows never published are the ones the restart must finish.
func logPipeline(t *testing.T, path string) {
	t.Helper()
	store, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	count := func(q string) int {
		var n int
		if err := store.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Logf("at the kill: %d clusters without a physical cluster, %d physical clusters not placed, %d outbox rows unpublished",
		count("SELECT COUNT(*) FROM logical_clusters l WHERE NOT EXISTS (SELECT 1 FROM tenancies t WHERE t.logical_cluster_id = l.id)"),
		count("SELECT COUNT(*) FROM physical_clusters p WHERE NOT EXISTS (SELECT 1 FROM placements pl WHERE pl.physical_cluster_id = p.id)"),
		count("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"))
}
