package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/mothership/rollout"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// TestRolloutSurvivesSIGKILL kills the mothership process with SIGKILL in the middle of a
// rollout's waves, several rounds, on both databases: after the restarts every cluster
// changed exactly once (physical generation 2: created, then the new revision), each
// wave started only after the one before had finished, and the controller's events in the
// rollout's history are each there once, in order.
func TestRolloutSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	bin := buildMothership(t)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { rolloutSIGKILL(t, bin, engine) })
	}
}

func rolloutSIGKILL(t *testing.T, bin, engine string) {
	ctx := context.Background()
	dir := t.TempDir()
	dsn := ""
	if engine == "postgres" {
		var err error
		if dsn, err = db.CreateFreshPostgres(ctx, hubtest.PostgresURL(t), t.Name()); err != nil {
			t.Fatal(err)
		}
	}
	ms := newMothershipProcess(t, bin, filepath.Join(dir, "mothership"), dsn)
	opKey := frontend.NewAPIKey()
	withStore(t, ms.dsn, func(s *db.Store) {
		if err := frontend.EnsureAPIKey(ctx, s, "ops", api.RoleOperator, opKey, "ops"); err != nil {
			t.Fatal(err)
		}
	})
	ops, _ := api.NewClient("http://"+ms.apiAddr, opKey, nil)
	ms.start()
	ms.startSatellite(filepath.Join(dir, "satellite"), 5*time.Millisecond)
	const n = 6
	for i := range n {
		if _, err := ms.client.CreateCluster(ctx, api.ClusterSpec{Name: fmt.Sprintf("c%d", i), Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		waitReadyAtGenerationOne(t, ms.client, fmt.Sprintf("c%d", i))
	}
	// A new revision recorded while the mothership is down (so that no default rollout
	// starts), then a rollout of it in three waves, one cluster at a time.
	ms.kill()
	withStore(t, ms.dsn, func(s *db.Store) {
		dbtest.InTx(t, s, func(q dbtest.Queries) error {
			return q.InsertProfile(ctx, db.InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: 1, CreatedAt: 1, CreatedBy: "test",
				Spec: `{"version":"3.9.1","replicasPerCKU":3,"controllers":3,"storageGiB":500,"config":{"default.replication.factor":"3","min.insync.replicas":"2"}}`})
		})
	})
	ms.start()
	ro, err := ops.CreateRollout(ctx, api.RolloutRequest{Product: "kafka", SKU: "dedicated", Revision: 1, Strategy: &api.RolloutStrategy{
		Waves: []api.Wave{{Count: 1}, {Count: 2}}, MaxConcurrency: 1, Soak: api.Duration(time.Second), ProgressDeadline: api.Duration(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 4 {
		time.Sleep(time.Duration(1500+rng.IntN(2000)) * time.Millisecond) // a point in the waves, not a synchronisation
		ms.kill()
		t.Logf("round %d: killed", round)
		ms.start()
	}
	testkit.CheckFor(t, 2*time.Minute, func() error {
		got, err := ops.GetRollout(ctx, ro.ID)
		if err != nil {
			return err
		}
		if got.State != api.RolloutComplete {
			return fmt.Errorf("rollout %s (%s): %+v", got.State, got.Reason, got.Progress)
		}
		return nil
	})
	got, err := ops.GetRollout(ctx, ro.ID)
	if err != nil {
		t.Fatal(err)
	}
	finished := map[int]time.Time{}
	for _, tg := range got.Targets {
		if tg.State != api.TargetDone || tg.StartedAt == nil || tg.FinishedAt == nil {
			t.Fatalf("target %+v", tg)
		}
		if tg.FinishedAt.After(finished[tg.Wave]) {
			finished[tg.Wave] = *tg.FinishedAt
		}
	}
	for _, tg := range got.Targets {
		if tg.Wave > 0 && tg.StartedAt.Before(finished[tg.Wave-1]) {
			t.Fatalf("%s of wave %d started at %s, before wave %d finished at %s", tg.Cluster, tg.Wave, tg.StartedAt, tg.Wave-1, finished[tg.Wave-1])
		}
	}
	if len(got.Progress) != 3 {
		t.Fatalf("waves: %+v", got.Progress)
	}
	// The controller's events: each once, none lost, in order, whatever the kills hit.
	var events []string
	for _, h := range got.History {
		if h.Actor == rollout.Actor {
			events = append(events, h.Action)
		}
	}
	want := []string{rollout.ActionPlanned}
	for range 3 {
		want = append(want, rollout.ActionWaveStarted, rollout.ActionWaveHealthy)
	}
	if want = append(want, rollout.ActionCompleted); !slices.Equal(events, want) {
		t.Fatalf("the controller's events %q, want %q", events, want)
	}
	ms.kill()
	withStore(t, ms.dsn, func(s *db.Store) {
		rows, err := s.DB().QueryContext(ctx, "SELECT id, generation, profile_revision, version FROM physical_clusters")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		count := 0
		for rows.Next() {
			var id, version string
			var gen, rev int64
			if err := rows.Scan(&id, &gen, &rev, &version); err != nil {
				t.Fatal(err)
			}
			if gen != 2 || rev != 1 || version != "3.9.1" {
				t.Errorf("physical cluster %s at generation %d, revision %d, version %s: want 2, 1, 3.9.1", id, gen, rev, version)
			}
			count++
		}
		if count != n {
			t.Fatalf("%d physical clusters", count)
		}
	})
}

func withStore(t *testing.T, dsn string, fn func(*db.Store)) {
	t.Helper()
	s, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn(s)
}
