// Package testkit is the shared support of Orbit's tests: polling for a condition instead of
// sleeping, a test logger, and an in-process JetStream server. It imports nothing of Orbit,
// so every package's tests can use it (leafnode's own tests included); the hub, stores and
// seeding that need Orbit's packages are in testkit/hubtest.
package testkit

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pollInterval is how often CheckFor and Poll retry.
const pollInterval = 20 * time.Millisecond

// CheckFor calls fn until it returns nil, failing the test with fn's last error if that
// takes longer than timeout.
func CheckFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	CheckForEvery(t, timeout, pollInterval, fn)
}

// CheckForEvery is CheckFor retrying every interval: for conditions that are costly to
// check (a list from an API server, a command run), where every 20 ms would be load.
func CheckForEvery(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	if err := PollEvery(timeout, interval, fn); err != nil {
		t.Fatalf("condition not met after %v: %v", timeout, err)
	}
}

// Poll calls fn until it returns nil or timeout elapses, and returns fn's last error.
func Poll(timeout time.Duration, fn func() error) error {
	return PollEvery(timeout, pollInterval, fn)
}

// PollEvery is Poll retrying every interval.
func PollEvery(timeout, interval time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(interval)
	}
}

// Logger discards unless ORBIT_TEST_LOG is set, then logs at debug level to stderr.
func Logger() *slog.Logger {
	if os.Getenv("ORBIT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// StartJetStream runs an in-process JetStream server without a listener and returns a
// connection to it; both end with the test.
func StartJetStream(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("JetStream server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}
