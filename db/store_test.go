package db

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/orbitcp/orbit/db/internal/queries"
)

// openTestStores returns a migrated SQLite store, and a PostgreSQL one when
// ORBIT_TEST_POSTGRES names a database URL (CI sets it). Every test of this package runs
// against each.
func openTestStores(t *testing.T) map[Dialect]*Store {
	t.Helper()
	ctx := context.Background()
	stores := map[Dialect]*Store{}
	s, err := Open(ctx, filepath.Join(t.TempDir(), "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	stores[SQLite] = s
	dsn := os.Getenv("ORBIT_TEST_POSTGRES")
	if dsn == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI must test PostgreSQL too: set ORBIT_TEST_POSTGRES (make test does)")
	}
	if dsn != "" {
		pg, err := OpenFreshPostgres(ctx, dsn, t.Name())
		if err != nil {
			t.Fatal(err)
		}
		stores[Postgres] = pg
	}
	for _, s := range stores {
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return stores
}

func TestStore(t *testing.T) {
	for dialect, s := range openTestStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			if s.Epoch() == "" {
				t.Fatal("no epoch")
			}
			// A second Migrate is a no-op and keeps the epoch.
			epoch := s.Epoch()
			if err := s.Migrate(ctx); err != nil || s.Epoch() != epoch {
				t.Fatalf("re-migrate: %v, epoch %q → %q", err, epoch, s.Epoch())
			}

			// A failed transaction writes nothing.
			boom := errors.New("boom")
			err := s.InTx(ctx, AnyReplica, func(tx *Tx) error {
				q := queries.Of(tx)
				if err := q.InsertTenant(ctx, InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: Now()}); err != nil {
					return err
				}
				if err := Enqueue(ctx, q, "events.tenant.t1", map[string]string{"id": "t1"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx: %v", err)
			}
			if _, err := queries.Of(s.Reader()).GetTenantByName(ctx, "acme"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("tenant after rollback: %v", err)
			}
			if rows, _ := queries.Of(s.Reader()).ListPendingOutbox(ctx, 10); len(rows) != 0 {
				t.Fatalf("outbox after rollback: %v", rows)
			}

			// A committed one writes both, and signals the relay.
			select {
			case <-s.Committed():
			default:
			}
			err = s.InTx(ctx, AnyReplica, func(tx *Tx) error {
				q := queries.Of(tx)
				if err := q.InsertTenant(ctx, InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: Now()}); err != nil {
					return err
				}
				return Enqueue(ctx, q, "events.tenant.t1", map[string]string{"id": "t1"})
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-s.Committed():
			default:
				t.Error("no commit signal")
			}
			rows, err := queries.Of(s.Reader()).ListPendingOutbox(ctx, 10)
			if err != nil || len(rows) != 1 || rows[0].Subject != "events.tenant.t1" || string(rows[0].Payload) != `{"id":"t1"}` {
				t.Fatalf("outbox: %v %+v", err, rows)
			}
			if err := queries.Of(s.Reader()).MarkOutboxPublished(ctx, MarkOutboxPublishedParams{ID: rows[0].ID, Now: Now()}); err != nil {
				t.Fatal(err)
			}
			if rows, _ := queries.Of(s.Reader()).ListPendingOutbox(ctx, 10); len(rows) != 0 {
				t.Fatalf("outbox after publish: %v", rows)
			}
			if err := queries.Of(s.Reader()).InsertTenant(ctx, InsertTenantParams{ID: "t2", Name: "acme", CreatedAt: Now()}); !errors.Is(err, ErrUniqueViolation) {
				t.Error("a duplicate tenant name is not reported as a unique violation")
			}
		})
	}
}

// TestLeaderFenceGuardsLeaderOnlyWrites: every leader-only transaction passes the fence,
// inside the transaction, before its own work; a fence that refuses rolls it back, and
// transactions any replica may run do not consult it.
func TestLeaderFenceGuardsLeaderOnlyWrites(t *testing.T) {
	for dialect, s := range openTestStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			deposed := errors.New("not the leader")
			leading := true
			fenced := 0
			s.SetLeaderFence(func(ctx context.Context, tx *Tx) error {
				fenced++
				if _, err := queries.Of(tx).GetOutboxEpoch(ctx); err != nil { // it runs inside the transaction
					return err
				}
				if !leading {
					return deposed
				}
				return nil
			})
			write := func(who Writer, name string) error {
				return s.InTx(ctx, who, func(tx *Tx) error { return insertTenant(ctx, queries.Of(tx), name) })
			}
			if err := write(LeaderOnly, "a"); err != nil || fenced != 1 {
				t.Fatalf("leader's write: %v (fence ran %d times)", err, fenced)
			}
			leading = false
			if err := write(LeaderOnly, "b"); !errors.Is(err, deposed) {
				t.Fatalf("deposed leader's write: %v, want the fence's error", err)
			}
			if _, err := queries.Of(s.Reader()).GetTenantByName(ctx, "b"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a fenced write was kept: %v", err)
			}
			if err := write(AnyReplica, "c"); err != nil || fenced != 2 {
				t.Fatalf("an API write: %v (fence ran %d times, want 2)", err, fenced)
			}
			s.SetLeaderFence(nil)
			if err := write(LeaderOnly, "d"); err != nil {
				t.Fatalf("without a fence: %v", err)
			}
		})
	}
}

// TestPostgresSessionLimits: a replica's PostgreSQL sessions cannot hold locks forever.
func TestPostgresSessionLimits(t *testing.T) {
	s, ok := openTestStores(t)[Postgres]
	if !ok {
		t.Skip("no PostgreSQL")
	}
	for setting, want := range sessionDefaults {
		var got string
		if err := s.DB().QueryRowContext(context.Background(), "SHOW "+setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}
