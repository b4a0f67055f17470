package leader

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/statusdb"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// replicas returns two stores over one database, as two mothership replicas have: SQLite
// (one file), and PostgreSQL when the tests have a server.
func replicas(t *testing.T) map[string][2]*db.Store {
	t.Helper()
	ctx := context.Background()
	out := map[string][2]*db.Store{}
	open := func(dsn string) *db.Store {
		s, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	lite := t.TempDir() + "/orbit.db"
	out["sqlite"] = [2]*db.Store{open(lite), open(lite)}
	if url := hubtest.PostgresURL(t); url != "" {
		dsn, err := db.CreateFreshPostgres(ctx, url, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		out["postgres"] = [2]*db.Store{open(dsn), open(dsn)}
	}
	return out
}

// leaderWrite is a leader-only transaction (the status controller's).
func leaderWrite(s *db.Store, id string) error {
	return statusdb.New(s).InTx(context.Background(), func(q statusdb.Queries) error {
		return q.UpsertClusterStatus(context.Background(), db.UpsertClusterStatusParams{PhysicalClusterID: id, Satellite: "s",
			Phase: "ready", Conditions: "[]", KvRevision: time.Now().UnixNano()})
	})
}

func waitLeading(t *testing.T, e *Elector, want bool) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, func() error {
		if leading, _ := e.Leading(); leading != want {
			return fmt.Errorf("%s leading = %v, want %v", e.Holder(), leading, want)
		}
		return nil
	})
}

// TestOneLeaderFencedTakeover: of two replicas one leads and its leader-only writes pass
// the fence; the other's are refused. When the leader freezes past its lease, the other
// takes over with the next token and the frozen one's writes are refused by the fence;
// when it runs again it steps down. A graceful release hands over at once.
func TestOneLeaderFencedTakeover(t *testing.T) {
	for engine, stores := range replicas(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			const ttl = time.Second
			a := New(stores[0], "a", ttl, testkit.Logger())
			b := New(stores[1], "b", ttl, testkit.Logger())
			runA, stopA := context.WithCancel(ctx)
			doneA := make(chan error, 1)
			go func() { doneA <- a.Run(runA) }()
			waitLeading(t, a, true)
			runB, stopB := context.WithCancel(ctx)
			defer stopB()
			go func() { _ = b.Run(runB) }()
			if err := leaderWrite(stores[0], "p1"); err != nil {
				t.Fatalf("the leader's write: %v", err)
			}
			if err := leaderWrite(stores[1], "p2"); !errors.Is(err, db.ErrFenced) {
				t.Fatalf("a follower's write: %v, want ErrFenced", err)
			}

			// A freezes: it stops renewing but still believes it leads.
			stopA()
			<-doneA
			start := time.Now()
			waitLeading(t, b, true)
			t.Logf("takeover %v after the leader froze (lease %v)", time.Since(start).Round(time.Millisecond), ttl)
			if leading, _ := a.Leading(); !leading {
				t.Fatal("the frozen replica already knows it lost")
			}
			if err := leaderWrite(stores[0], "p3"); !errors.Is(err, db.ErrFenced) {
				t.Fatalf("the deposed leader's write: %v, want ErrFenced", err)
			}
			if err := leaderWrite(stores[1], "p4"); err != nil {
				t.Fatalf("the new leader's write: %v", err)
			}
			// A runs again: its renewal fails and it steps down.
			runA, stopA = context.WithCancel(ctx)
			defer stopA()
			go func() { _ = a.Run(runA) }()
			waitLeading(t, a, false)

			// Graceful hand-off.
			stopB()
			b.Release()
			start = time.Now()
			waitLeading(t, a, true)
			t.Logf("hand-off %v after a release", time.Since(start).Round(time.Millisecond))
			if _, token := a.Leading(); token < 3 {
				t.Fatalf("token %d after three terms", token)
			}
		})
	}
}
