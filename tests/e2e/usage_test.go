package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestUsageFromActualState: a ready cluster accrues CKU-hours for as long as its satellite
// reports it running; a deleted one stops.
func TestUsageFromActualState(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine), func(c *devstack.ControlPlaneConfig) { c.UsageInterval = 100 * time.Millisecond })
			e.startSatellite("us-west-2")
			ctx := context.Background()
			start := time.Now()
			if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "metered", Product: "kafka", CKU: 2, Region: "us-west-2"}); err != nil {
				t.Fatal(err)
			}
			e.waitFor("metered", 30*time.Second, readyWith(6))
			readyAt := time.Now()
			// Not synchronisation: the span the cluster accrues over, measured below.
			time.Sleep(2 * time.Second)
			total := func() float64 {
				rows, err := e.client.Usage(ctx, start.Add(-time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				var cku float64
				for _, u := range rows {
					if u.Cluster != "metered" || u.StorageGiBHours <= 0 {
						t.Fatalf("usage row %+v", u)
					}
					cku += u.CKUHours
				}
				return cku
			}
			got := total()
			// 2 CKUs for at least the 2 s since ready, at most since the create.
			low, high := 2*2.0/3600*0.9, 2*time.Since(start).Hours()*1.1
			if got < low || got > high {
				t.Fatalf("%.5f CKU-hours after %v ready, want between %.5f and %.5f", got, time.Since(readyAt), low, high)
			}
			if _, err := e.client.DeleteCluster(ctx, "metered"); err != nil {
				t.Fatal(err)
			}
			e.waitFor("metered", 30*time.Second, phaseIs(api.PhaseDeleted))
			e.waitMeteredAfter(time.Now())
			stopped := total()
			// Not synchronisation: ten metering intervals in which nothing may accrue.
			time.Sleep(time.Second)
			if after := total(); after != stopped {
				t.Fatalf("a deleted cluster kept accruing: %.5f → %.5f", stopped, after)
			}
		})
	}
}

// waitMeteredAfter waits until a usage meter tick that started after t has committed: the
// ticks run one after the other, so every tick that could have billed for what was running
// before t is in the usage table.
func (e *env) waitMeteredAfter(t time.Time) {
	e.t.Helper()
	testkit.CheckFor(e.t, 10*time.Second, func() error {
		v, err := dbtest.Q(e.cp.Store).GetUsageCursor(context.Background())
		if err != nil {
			return err
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		if ms <= t.UnixMilli() {
			return fmt.Errorf("the usage meter last ticked at %v, before %v", time.UnixMilli(ms), t)
		}
		return nil
	})
}
