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
	dataDir := filepath.Join(dir, "mothership")
	ctx := context.Background()

	// Prepare the store: an API key and one onboarded satellite.
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(ctx, filepath.Join(dataDir, "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
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
	store.Close()

	apiAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "--data-dir", dataDir, "--listen", apiAddr, "--leaf-listen", leaf)
		if os.Getenv("ORBIT_TEST_LOG") != "" {
			cmd.Stderr = os.Stderr
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd
	}
	client, err := api.NewClient("http://"+apiAddr, testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitUp := func() {
		testkit.CheckFor(t, 30*time.Second, func() error { _, err := client.ListClusters(ctx); return err })
	}

	proc := start()
	waitUp()
	sat, err := devstack.StartSatellite(ctx, devstack.SatelliteConfig{
		Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"},
		Dir: filepath.Join(dir, "satellite"), HubURLs: []string{"nats-leaf://" + leaf}, Seed: seed,
		Sim: simkube.New(10*time.Millisecond, nil, satellite.CustomResources), Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sat.Stop()

	const n = 12
	for i := range n {
		if _, err := client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("c%d", i), Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Process.Wait()
	logPipeline(t, filepath.Join(dataDir, "orbit.db"))

	start()
	waitUp()
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		var c *api.Cluster
		err := testkit.PollEvery(60*time.Second, 100*time.Millisecond, func() error {
			var err error
			if c, err = client.GetCluster(ctx, name); err != nil {
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
	// Each physical cluster was derived exactly once: generation 1 everywhere.
	store, err = db.Open(ctx, filepath.Join(dataDir, "orbit.db"))
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
