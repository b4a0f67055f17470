package relay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

func startHubAndStore(t *testing.T) (jetstream.JetStream, *db.Store) {
	return hubtest.StartHub(t).JS, hubtest.OpenSQLite(t)
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), kv.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestRelayPublishesEachRowOnce covers the outbox's guarantees: rows committed while no
// relay runs are published when one does, and a relay that dies after publishing but
// before marking publishes again without duplicating anything in EVENTS.
func TestRelayPublishesEachRowOnce(t *testing.T) {
	js, store := startHubAndStore(t)
	ctx := context.Background()
	enqueue := func(n int) {
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			for i := range n {
				if err := db.Enqueue(ctx, q, kv.EventSubject("logical", "c"+string(rune('a'+i))), map[string]int{"i": i}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	r := New(store, js, testkit.Logger())

	enqueue(3)
	if n := streamMsgs(t, js); n != 0 {
		t.Fatalf("published before the relay ran: %d", n)
	}
	if n, err := r.flush(ctx, 100); err != nil || n != 3 {
		t.Fatalf("flush: %d %v", n, err)
	}
	if n := streamMsgs(t, js); n != 3 {
		t.Fatalf("stream has %d events, want 3", n)
	}

	// Publish two more, then "crash" before marking: un-mark them and flush again.
	enqueue(2)
	if n, err := r.flush(ctx, 100); err != nil || n != 2 {
		t.Fatalf("flush: %d %v", n, err)
	}
	if _, err := store.DB().ExecContext(ctx, "UPDATE outbox SET published_at = NULL WHERE id > 3"); err != nil {
		t.Fatal(err)
	}
	if n, err := r.flush(ctx, 100); err != nil || n != 2 {
		t.Fatalf("flush after crash: %d %v", n, err)
	}
	if n := streamMsgs(t, js); n != 5 {
		t.Fatalf("stream has %d events after republishing, want 5 (no duplicates)", n)
	}
	if rows, _ := dbtest.Q(store).ListPendingOutbox(ctx, 10); len(rows) != 0 {
		t.Fatalf("pending after flush: %d", len(rows))
	}

	// Run wakes on commit, without waiting for its poll.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.Poll = time.Hour
	go func() { _ = r.Run(runCtx) }()
	enqueue(1)
	testkit.CheckFor(t, 5*time.Second, func() error {
		if n := streamMsgs(t, js); n != 6 {
			return fmt.Errorf("relay did not publish on commit: %d events", n)
		}
		return nil
	})
}

// TestRelaySurvivesALostAcknowledgement: when a stream leader dies right after storing a
// message, its acknowledgement never comes. The relay must give up on the batch, mark
// nothing, and publish the rows again (once) when the stream answers.
func TestRelaySurvivesALostAcknowledgement(t *testing.T) {
	js, store := startHubAndStore(t)
	ctx := context.Background()
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return db.Enqueue(ctx, q, kv.EventSubject("logical", "lost"), map[string]int{"i": 1})
	})
	// A stream that stores and never answers: swap EVENTS for a silent listener.
	if err := js.DeleteStream(ctx, kv.StreamEvents); err != nil {
		t.Fatal(err)
	}
	silent, err := js.Conn().SubscribeSync("events.>")
	if err != nil {
		t.Fatal(err)
	}
	r := New(store, js, testkit.Logger())
	r.AckTimeout = 200 * time.Millisecond
	done := make(chan error, 1)
	go func() { _, err := r.flush(ctx, 100); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("flush succeeded without an acknowledgement")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flush still waits for an acknowledgement that never comes")
	}
	if _, err := silent.NextMsg(time.Second); err != nil {
		t.Fatalf("the row was not sent: %v", err)
	}
	if rows, _ := dbtest.Q(store).ListPendingOutbox(ctx, 10); len(rows) != 1 {
		t.Fatalf("%d rows pending after a lost acknowledgement, want 1", len(rows))
	}

	_ = silent.Unsubscribe()
	if _, err := js.CreateStream(ctx, kv.EventsStream(1)); err != nil {
		t.Fatal(err)
	}
	if n, err := r.flush(ctx, 100); err != nil || n != 1 {
		t.Fatalf("flush once the stream answers: %d %v", n, err)
	}
	if n := streamMsgs(t, js); n != 1 {
		t.Fatalf("stream has %d events, want 1", n)
	}
}
