package leafnode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/orbitcp/orbit/tests/testkit"
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

// TestRevokedSatelliteIsCutOff removes satellite B: its leaf connection is closed and stays
// closed; A, still allowed, is back within moments and keeps its mirror.
func TestRevokedSatelliteIsCutOff(t *testing.T) {
	th := startTestHub(t, "sat-a", "sat-b")
	a := startTestLeaf(t, th, "sat-a", th.keys["sat-a"])
	b := startTestLeaf(t, th, "sat-b", th.keys["sat-b"])
	pubA, _ := th.keys["sat-a"].PublicKey()
	if err := th.hub.SetSatellites([]SatelliteUser{{Name: "sat-a", NKey: pubA}}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if b.leaf.HubConnected() {
			return errors.New("the revoked satellite is still connected")
		}
		return nil
	})
	testkit.CheckFor(t, 10*time.Second, func() error {
		if !a.leaf.HubConnected() {
			return errors.New("satellite A did not reconnect")
		}
		return nil
	})
	// Not synchronisation: a quiet window, long enough for several of B's reconnect
	// attempts (every 100 ms), in which B must stay out.
	time.Sleep(2 * time.Second)
	if b.leaf.HubConnected() {
		t.Fatal("the revoked satellite got back in")
	}
}
