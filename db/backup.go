package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tools (pg_dump and
// pg_restore) make consistent backups; the README gives the procedure.
var ErrBackupPostgres = errors.New("db: a PostgreSQL database is backed up with pg_dump and restored with pg_restore (see the README)")

// Backup writes a consistent copy of a SQLite store to path while the store's writers carry
// on: VACUUM INTO reads one snapshot of the database (WAL readers do not block writers, nor
// writers them) and writes it compacted into a new file. The copy goes to a temporary file
// beside path, synced and renamed into place, so path is either absent or a whole backup.
// It refuses an existing path.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect == Postgres {
		return ErrBackupPostgres
	}
	if path == "" {
		return errors.New("db: backup: empty destination path")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("db: backup: %s exists (choose a new file)", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".partial-*")
	if err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	os.Remove(name) // VACUUM INTO wants a new or empty file; it creates it
	defer os.Remove(name)
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", name); err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	if err := syncFile(name); err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

// RestoreSQLite makes the SQLite database at to from the backup at from, for a fresh
// mothership: it refuses an existing destination, copies the backup, checks it is a whole
// database (integrity_check), migrates it, and gives it a new outbox epoch (NewEpoch).
// On error, nothing is left at to.
func RestoreSQLite(ctx context.Context, from, to string) (err error) {
	to = strings.TrimPrefix(to, "sqlite:")
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("db: restore: %s exists: restore into a new data directory", to)
	}
	if err := copyFile(from, to); err != nil {
		return fmt.Errorf("db: restore: %w", err)
	}
	defer func() {
		if err != nil {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(to + suffix)
			}
		}
	}()
	s, err := Open(ctx, to)
	if err != nil {
		return fmt.Errorf("db: restore: %s: %w", from, err)
	}
	defer s.Close()
	var check string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil {
		return fmt.Errorf("db: restore: %s: %w", from, err)
	}
	if check != "ok" {
		return fmt.Errorf("db: restore: %s is damaged: %s", from, check)
	}
	if err := s.Migrate(ctx); err != nil {
		return fmt.Errorf("db: restore: %s: %w", from, err)
	}
	return s.NewEpoch(ctx)
}

// NewEpoch gives the store a new outbox epoch. A restored database's outbox ids start
// again from where the backup was taken, and the rows written after the backup were
// published to EVENTS under the same ids: with the old epoch, EVENTS would drop the new
// rows as duplicates of those. Run it once on every restored database, before a mothership
// starts on it ("mothership restore" does).
func (s *Store) NewEpoch(ctx context.Context) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	epoch := hex.EncodeToString(b[:])
	if err := s.q.SetOutboxEpoch(ctx, epoch); err != nil {
		return fmt.Errorf("db: meta: %w", err)
	}
	s.epoch = epoch
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
