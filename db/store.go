package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/orbitcp/orbit/db/internal/queries"
)

var (
	// ErrNotFound is returned (wrapped) when a row does not exist, on either engine.
	ErrNotFound = queries.ErrNotFound
	// ErrUniqueViolation is returned (wrapped) when a write breaks a unique constraint,
	// detected by the engine's error code.
	ErrUniqueViolation = queries.ErrUniqueViolation
)

// Tx is a handle on one transaction's queries (or the database's, for reads). Only the
// per-owner query sets under db/ can run queries on it: each service gets the queries of
// the tables it owns, and nothing else, through its set.
type Tx = queries.Tx

// Writer says whose transaction it is: a leader-only service's (the relay, the
// controllers, the usage meter) or one that any replica may run (the API, onboarding).
type Writer int

const (
	// AnyReplica transactions run on every mothership replica.
	AnyReplica Writer = iota
	// LeaderOnly transactions pass the leader fence (see SetLeaderFence).
	LeaderOnly
)

// Fence checks, inside a leader-only transaction, that this process still leads; an error
// rolls the transaction back.
type Fence func(ctx context.Context, tx *Tx) error

// Dialect names the SQL engine behind a Store.
type Dialect string

// The engines Orbit supports.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed migrations
var migrations embed.FS

// Store is the mothership's database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	q       queries.Queries
	newQ    func(queries.DBTX) queries.Queries
	epoch   string
	fence   atomic.Pointer[Fence]
	// committed receives a token after every committed transaction, so the outbox relay
	// can publish without polling.
	committed chan struct{}
	// writes, on SQLite, feeds the group committer (see InTx); nil on PostgreSQL.
	writes    chan *write
	closeOnce sync.Once
	stopped   chan struct{}
	groups    atomic.Int64 // transactions that carried more than one call (for tests)
}

// write is one InTx call waiting for the group committer.
type write struct {
	fn   func(q queries.Queries, tx queries.DBTX) error
	done chan error
}

// maxGroup bounds how many InTx calls share one SQLite transaction.
const maxGroup = 256

// Open opens the database named by dsn: a postgres:// or postgresql:// URL, or else a
// SQLite file path (optionally prefixed with sqlite:). It does not migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		db  *sql.DB
		err error
		s   = &Store{committed: make(chan struct{}, 1)}
	)
	switch {
	case IsPostgres(dsn):
		s.dialect = Postgres
		db, err = openPostgres(dsn)
		s.newQ = queries.NewPostgres
	default:
		s.dialect = SQLite
		db, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"))
		s.newQ = queries.NewSQLite
	}
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("db: %s: %w", s.dialect, err)
	}
	s.db = db
	s.q = s.newQ(db)
	if s.dialect == SQLite {
		s.writes, s.stopped = make(chan *write), make(chan struct{})
		go s.groupCommit()
	}
	return s, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database (else it is a SQLite file).
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("db: empty SQLite path")
	}
	// WAL lets the API read while a controller writes; immediate transactions take the
	// write lock up front, so concurrent writers wait (busy_timeout) instead of failing
	// on a lock upgrade. synchronous=FULL: a committed transaction survives a crash.
	// cache_size: 32 MiB of pages per connection, so a fleet's indexes stay in memory.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-32768)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("db: sqlite: %w", err)
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

// Dialect reports the engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// Reader returns a handle for reads outside any transaction.
func (s *Store) Reader() *Tx { return queries.NewTx(s.q, s.db) }

// SetLeaderFence installs the check that every LeaderOnly transaction runs before its own
// work (nil removes it). It is the one place where leader fencing plugs in.
func (s *Store) SetLeaderFence(f Fence) {
	if f == nil {
		s.fence.Store(nil)
		return
	}
	s.fence.Store(&f)
}

// DB returns the underlying handle.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.writes != nil {
			close(s.stopped)
		}
	})
	return s.db.Close()
}

// Migrate brings the schema up to date with the embedded migrations, then makes sure the
// store has its outbox epoch.
func (s *Store) Migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		// Replicas migrating at once (init containers of one Deployment) take turns on an
		// advisory lock instead of racing on the version table.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300)) // probe every second, up to 5 min
		if err != nil {
			return fmt.Errorf("db: migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("db: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return s.loadEpoch(ctx)
}

// The store's random identity is the meta table's outbox_epoch key (the store owns that
// key). The outbox relay prefixes message ids with it, so two databases (a dev reset, say)
// never collide in the EVENTS stream's duplicate window.
func (s *Store) loadEpoch(ctx context.Context) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	if err := s.q.InsertOutboxEpoch(ctx, hex.EncodeToString(b[:])); err != nil {
		return fmt.Errorf("db: meta: %w", err)
	}
	epoch, err := s.q.GetOutboxEpoch(ctx)
	if err != nil {
		return fmt.Errorf("db: meta: %w", err)
	}
	s.epoch = epoch
	return nil
}

// Epoch is the store's random identity (see Migrate).
func (s *Store) Epoch() string { return s.epoch }

// InTx runs fn in one transaction: committed if fn returns nil, rolled back otherwise.
// When InTx returns, the outcome is final: nil means committed (and durable), an error
// means nothing of fn was kept.
//
// On SQLite, which has one writer and pays an fsync per commit, concurrent calls are
// group-committed: one goroutine runs the waiting calls one after the other in a single
// transaction, each inside its own savepoint (a call that fails is rolled back alone), and
// commits them together. A call that is alone runs alone, without waiting for company.
// fn must not call InTx itself. A LeaderOnly transaction first passes the leader fence.
func (s *Store) InTx(ctx context.Context, who Writer, fn func(tx *Tx) error) error {
	return s.inTx(ctx, func(q queries.Queries, dbtx queries.DBTX) error {
		tx := queries.NewTx(q, dbtx)
		if who == LeaderOnly {
			if f := s.fence.Load(); f != nil {
				if err := (*f)(ctx, tx); err != nil {
					return err
				}
			}
		}
		return fn(tx)
	})
}

func (s *Store) inTx(ctx context.Context, fn func(q queries.Queries, tx queries.DBTX) error) error {
	if s.writes == nil {
		return s.runTx(ctx, fn)
	}
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		return fmt.Errorf("db: begin: %w", ctx.Err())
	case <-s.stopped:
		return errors.New("db: store closed")
	}
	// Once handed over, the call runs: wait for its outcome whatever ctx does, so that an
	// error returned here always means nothing was written.
	return <-w.done
}

func (s *Store) runTx(ctx context.Context, fn func(q queries.Queries, tx queries.DBTX) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	if err := fn(s.newQ(tx), tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("db: rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	s.signalCommit()
	return nil
}

func (s *Store) signalCommit() {
	select {
	case s.committed <- struct{}{}:
	default:
	}
}

// groupCommit is the SQLite writer: it takes the calls waiting in InTx, as many as have
// arrived, and commits them together.
func (s *Store) groupCommit() {
	for {
		var first *write
		select {
		case first = <-s.writes:
		case <-s.stopped:
			return
		}
		group := []*write{first}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-s.writes:
				group = append(group, w)
			default:
				break more
			}
		}
		if len(group) == 1 {
			first.done <- s.runTx(context.Background(), first.fn)
			continue
		}
		s.commitGroup(group)
	}
}

// commitGroup runs a group in one transaction, each call in a savepoint. If the
// transaction itself fails (begin, a savepoint, the commit), every call of the group gets
// the error: none of them was kept.
func (s *Store) commitGroup(group []*write) {
	ctx := context.Background()
	errs := make([]error, len(group))
	fail := func(err error) {
		for _, w := range group {
			w.done <- err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("db: begin: %w", err))
		return
	}
	q := s.newQ(tx)
	for i, w := range group {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT orbit_write"); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("db: savepoint: %w", err))
			return
		}
		errs[i] = w.fn(q, tx)
		end := []string{"RELEASE orbit_write"}
		if errs[i] != nil {
			end = []string{"ROLLBACK TO orbit_write", "RELEASE orbit_write"}
		}
		for _, stmt := range end {
			// This also fails if SQLite rolled the whole transaction back under the call (an
			// interrupted statement does that): then nothing of the group may be reported kept.
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("db: savepoint: %w", err))
				return
			}
		}
	}
	s.groups.Add(1)
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("db: commit: %w", err))
		return
	}
	for i, w := range group {
		w.done <- errs[i]
	}
	s.signalCommit()
}

// Committed signals after transactions commit (coalesced: one token stands for any number).
func (s *Store) Committed() <-chan struct{} { return s.committed }

// OutboxWriter is what appending to the outbox needs: every writer's query set has it.
type OutboxWriter interface {
	InsertOutbox(ctx context.Context, arg InsertOutboxParams) (int64, error)
}

// Enqueue appends an event to the outbox inside the caller's transaction.
func Enqueue(ctx context.Context, q OutboxWriter, subject string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := q.InsertOutbox(ctx, InsertOutboxParams{Subject: subject, Payload: body, Now: Now()}); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// Now is the current time in the store's unit (Unix milliseconds).
func Now() int64 { return time.Now().UnixMilli() }

// Time converts a stored time.
func Time(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// NullTime converts a nullable stored time.
func NullTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := Time(ms.Int64)
	return &t
}
