package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// TestControllerLagCountsWhatIsNotReconciled: events a controller has not reconciled show
// in its lag — pending in the stream, delivered and unacknowledged, or queued — and the lag
// is zero once every reconcile has succeeded.
func TestControllerLagCountsWhatIsNotReconciled(t *testing.T) {
	js := hubtest.StartHub(t).JS
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	c := &Controller{Name: "lagtest", Resources: []string{events.ResourceLogical}, Workers: 1, Log: testkit.Logger(),
		ListIDs: func(context.Context) ([]string, error) { return nil, nil },
		Reconcile: func(ctx context.Context, id string) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	if lag, err := c.Lag(ctx); err != nil || lag != (api.Controller{Name: "lagtest"}) {
		t.Fatalf("before start: lag %+v, %v; want zero", lag, err)
	}
	if err := c.Start(ctx, js); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	const n = 5
	for i := range n {
		if _, err := js.Publish(ctx, kv.EventSubject(events.ResourceLogical, fmt.Sprintf("c%d", i)), []byte("{}")); err != nil {
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

func waitLag(t *testing.T, c *Controller, what string, ok func(api.Controller) bool) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, func() error {
		l, err := c.Lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ok(l) {
			return fmt.Errorf("%s: lag is %+v", what, l)
		}
		return nil
	})
}
