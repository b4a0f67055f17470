package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/orbitcp/orbit/db/internal/queries"
)

// TestBackupWhileWriting backs a SQLite store up while transactions that each insert two
// tenants keep committing: the backup holds whole transactions only (an even number of
// tenants), and a restore of it is a migrated store with a new outbox epoch.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			i := n.Add(1)
			err := s.InTx(ctx, AnyReplica, func(tx *Tx) error {
				for _, half := range []string{"a", "b"} {
					id := fmt.Sprintf("t%d%s", i, half)
					if err := queries.Of(tx).InsertTenant(ctx, InsertTenantParams{ID: id, Name: id, CreatedAt: i}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for n.Load() < 50 {
		_, _ = os.Stat(dir) // let the writer get going
	}
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, backup); err == nil {
		t.Error("a backup over an existing file succeeded")
	}

	restored := filepath.Join(dir, "restored", "orbit.db")
	if err := os.MkdirAll(filepath.Dir(restored), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := RestoreSQLite(ctx, backup, restored); err != nil {
		t.Fatal(err)
	}
	if err := RestoreSQLite(ctx, backup, restored); err == nil {
		t.Error("a restore over an existing database succeeded")
	}
	r, err := Open(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var tenants int64
	if err := r.DB().QueryRowContext(ctx, "SELECT count(*) FROM tenants").Scan(&tenants); err != nil {
		t.Fatal(err)
	}
	if tenants == 0 || tenants%2 != 0 {
		t.Errorf("the backup holds %d tenants: want a positive even number (whole transactions)", tenants)
	}
	if r.Epoch() == s.Epoch() {
		t.Errorf("the restored store kept the outbox epoch %s: new outbox rows would be dropped as duplicates", s.Epoch())
	}
	t.Logf("backup taken after %d transactions holds %d tenants", n.Load(), tenants)

	// Not a database: an error, and nothing left behind.
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a database at all, not even close to one."), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "from-junk.db")
	if err := RestoreSQLite(ctx, junk, target); err == nil {
		t.Error("restoring a file that is no database succeeded")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed restore left %s behind (%v)", target, err)
	}
}

// TestBackupPostgresRefused: PostgreSQL backups are pg_dump's job.
func TestBackupPostgresRefused(t *testing.T) {
	for dialect, s := range openTestStores(t) {
		if dialect != Postgres {
			continue
		}
		if err := s.Backup(context.Background(), filepath.Join(t.TempDir(), "x.db")); !errors.Is(err, ErrBackupPostgres) {
			t.Errorf("backup of PostgreSQL: %v, want ErrBackupPostgres", err)
		}
	}
}
