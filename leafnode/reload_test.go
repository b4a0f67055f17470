package leafnode

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestSetSatellitesKeepsTheMothershipConnected reloads the hub's users repeatedly; the
// mothership's own connection must survive and keep authenticating.
func TestSetSatellitesKeepsTheMothershipConnected(t *testing.T) {
	th := startTestHub(t)
	_, a := newUserKey(t)
	_, b := newUserKey(t)
	for i, users := range [][]SatelliteUser{{{Name: "sat-a", NKey: a}}, {{Name: "sat-a", NKey: a}}, {{Name: "sat-a", NKey: a}, {Name: "sat-b", NKey: b}}} {
		if err := th.hub.SetSatellites(users); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if err := th.nc.FlushTimeout(2 * time.Second); err != nil {
			t.Fatalf("after reload %d the mothership connection fails: %v (status %v, last error %v)", i, err, th.nc.Status(), th.nc.LastError())
		}
		if _, err := th.js.AccountInfo(context.Background()); err != nil {
			t.Fatalf("after reload %d: %v", i, err)
		}
	}
	// A new connection with the mothership's key still authenticates.
	if th.nc.Status() != nats.CONNECTED {
		t.Fatalf("status %v", th.nc.Status())
	}
}
