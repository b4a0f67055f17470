// Package hubtest starts the parts of the mothership's side that tests build on: an
// embedded hub with the buckets and stream, and migrated stores on both engines.
package hubtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
)

// Hub is an embedded hub and the mothership's connection to it.
type Hub struct {
	*leafnode.Hub
	Conn *nats.Conn
	JS   jetstream.JetStream
}

// StartHub starts an embedded hub with the buckets and the EVENTS stream; it stops with
// the test.
func StartHub(t testing.TB) *Hub {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	hub, err := leafnode.StartHub(leafnode.HubConfig{StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1", MothershipNKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Shutdown)
	nc, err := hub.Connect(kp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.EnsureHub(context.Background(), js, 1); err != nil {
		t.Fatal(err)
	}
	return &Hub{Hub: hub, Conn: nc, JS: js}
}

// OpenSQLite returns a migrated SQLite store in the test's directory.
func OpenSQLite(t testing.TB) *db.Store {
	t.Helper()
	return migrated(t, func(ctx context.Context) (*db.Store, error) {
		return db.Open(ctx, filepath.Join(t.TempDir(), "orbit.db"))
	})
}

// PostgresURL is the server the tests use (ORBIT_TEST_POSTGRES), "" if none. CI must have
// one: there it fails the test when unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ORBIT_TEST_POSTGRES")
	if dsn == "" && os.Getenv("CI") == "true" {
		t.Fatal("CI must test PostgreSQL too: set ORBIT_TEST_POSTGRES (make test does)")
	}
	return dsn
}

// OpenStores returns a migrated store per engine: SQLite always, PostgreSQL (a fresh
// database of its own) when the tests have a server.
func OpenStores(t testing.TB) map[db.Dialect]*db.Store {
	t.Helper()
	stores := map[db.Dialect]*db.Store{db.SQLite: OpenSQLite(t)}
	if dsn := PostgresURL(t); dsn != "" {
		stores[db.Postgres] = migrated(t, func(ctx context.Context) (*db.Store, error) {
			return db.OpenFreshPostgres(ctx, dsn, t.Name())
		})
	}
	return stores
}

func migrated(t testing.TB, open func(context.Context) (*db.Store, error)) *db.Store {
	t.Helper()
	ctx := context.Background()
	s, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
