package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/mothership/status"
)

// backupCommand takes an online backup of a SQLite database; PostgreSQL has pg_dump.
var backupCommand = &cli.Command{
	Name:      "backup",
	Usage:     "Write a consistent copy of the SQLite database to a new file while the mothership runs (PostgreSQL: pg_dump, see the README)",
	ArgsUsage: " ",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "to", Usage: "File to write (must not exist)", Required: true, EnvVars: []string{"ORBIT_BACKUP_TO"}},
	}, dbFlags...),
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return errors.New("backup takes no arguments")
		}
		dsn := dbDSN(c)
		if !db.IsPostgres(dsn) {
			// Opening a SQLite file that is not there would create an empty database.
			if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
				return fmt.Errorf("--data-dir/--db: no database to back up: %w", err)
			}
		}
		store, err := db.Open(c.Context, dsn)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := store.Backup(c.Context, c.String("to")); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "backup written to %s\n", c.String("to"))
		return nil
	},
}

// restoreCommand makes the database of a fresh mothership from a backup: for SQLite it
// copies the backup into place; for PostgreSQL, after pg_restore, it finishes the restore.
// Either way it gives the database a new outbox epoch (see db.Store.NewEpoch).
var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "Make a fresh mothership's database from a backup (SQLite: --from FILE into a new data directory; PostgreSQL: run it after pg_restore), before any mothership starts on it",
	ArgsUsage: " ",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "from", Usage: "SQLite backup written by \"mothership backup\" (not with PostgreSQL)", EnvVars: []string{"ORBIT_RESTORE_FROM"}},
	}, dbFlags...),
	Action: func(c *cli.Context) error {
		if c.NArg() != 0 {
			return errors.New("restore takes no arguments")
		}
		dsn, from := dbDSN(c), c.String("from")
		if db.IsPostgres(dsn) {
			if from != "" {
				return errors.New("--from: a PostgreSQL database is restored with pg_restore; then run restore without --from")
			}
			store, err := openMigrated(c)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.NewEpoch(c.Context); err != nil {
				return err
			}
			if err := status.ForgetRevisions(c.Context, store); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "database (postgres) restored: new outbox epoch", store.Epoch())
			return nil
		}
		if from == "" {
			return errors.New("--from: name the backup file to restore")
		}
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return fmt.Errorf("--data-dir: %w", err)
		}
		if err := db.RestoreSQLite(c.Context, from, dsn); err != nil {
			return err
		}
		store, err := openMigrated(c)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := status.ForgetRevisions(c.Context, store); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "database (sqlite) restored from %s into %s\n", from, dsn)
		return nil
	},
}
