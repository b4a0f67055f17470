package mothership

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// TestControllerLagCountsWhatIsNotReconciled: events a controller has not reconciled show
// in its lag — pending in the stream, delivered and unacknowledged, or queued — and the lag
// is zero once every reconcile has succeeded.
func TestControllerLagCountsWhatIsNotReconciled(t *testing.T) {
	js, _ := startHubAndStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	c := &controller{name: "lagtest", resources: []string{resourceLogical}, workers: 1, log: testLogger(),
		listIDs: func(context.Context) ([]string, error) { return nil, nil },
		reconcile: func(ctx context.Context, id string) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	if lag, err := c.lag(ctx); err != nil || lag != (api.Controller{Name: "lagtest"}) {
		t.Fatalf("before start: lag %+v, %v; want zero", lag, err)
	}
	if err := c.Start(ctx, js); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	const n = 5
	for i := range n {
		if _, err := js.Publish(ctx, kv.EventSubject(resourceLogical, fmt.Sprintf("c%d", i)), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	behind := func(l api.Controller) int { return int(l.Pending) + l.Unacked }
	waitLag(t, c, "all five events counted while the first reconcile is held", func(l api.Controller) bool { return behind(l) == n && l.Queued >= n-1 })
	close(release)
	waitLag(t, c, "nothing left once every reconcile succeeded", func(l api.Controller) bool { return behind(l) == 0 && l.Queued == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitLag(t *testing.T, c *controller, what string, ok func(api.Controller) bool) {
	t.Helper()
	var last api.Controller
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		l, err := c.lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if last = l; ok(l) {
			return
		}
	}
	t.Fatalf("%s: lag stayed %+v", what, last)
}
