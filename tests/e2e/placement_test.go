package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// TestPlacement: region, cloud, network and capacity decide where a cluster goes; a
// cluster no satellite can take stays pending with the reason, and is placed as soon as a
// matching satellite registers. An EU cluster's desired state never reaches a US satellite.
func TestPlacement(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { testPlacement(t, engine) })
	}
}

func testPlacement(t *testing.T, engine string) {
	e := newEnv(t, onEngine(engine))
	us := e.startSatelliteWith("us-a", "us-west-2", "aws", []string{"public"}, kv.Capacity{})
	eu := e.startSatelliteWith("eu-a", "eu-west-1", "aws", []string{"public", "private-link"}, kv.Capacity{Clusters: 2})
	gcp := e.startSatelliteWith("us-gcp", "us-west-2", "gcp", []string{"vpc-peering"}, kv.Capacity{})
	ctx := context.Background()

	cases := []struct {
		spec      api.ClusterSpec
		satellite string // "" = pending
		reason    string
	}{
		{api.ClusterSpec{Name: "us-plain", Product: "kafka", CKU: 1, Region: "us-west-2"}, "us-a", ""},
		{api.ClusterSpec{Name: "eu-plain", Product: "kafka", CKU: 1, Region: "eu-west-1"}, "eu-a", ""},
		{api.ClusterSpec{Name: "eu-private", Product: "kafka", CKU: 1, Region: "eu-west-1", Network: "private-link"}, "eu-a", ""},
		{api.ClusterSpec{Name: "us-gcp", Product: "kafka", CKU: 1, Region: "us-west-2", Cloud: "gcp", Network: "vpc-peering"}, "us-gcp", ""},
		{api.ClusterSpec{Name: "eu-full", Product: "kafka", CKU: 1, Region: "eu-west-1"}, "", "at capacity"},
		{api.ClusterSpec{Name: "us-peering", Product: "kafka", CKU: 1, Region: "us-west-2", Network: "vpc-peering"}, "", "serves cloud aws with network vpc-peering"},
		{api.ClusterSpec{Name: "eu-azure", Product: "kafka", CKU: 1, Region: "eu-west-1", Cloud: "azure"}, "", "serves cloud azure"},
		{api.ClusterSpec{Name: "mumbai", Product: "kafka", CKU: 1, Region: "ap-south-1"}, "", "no satellite serves region ap-south-1"},
	}
	for _, tc := range cases {
		if _, err := e.client.CreateCluster(ctx, tc.spec); err != nil {
			t.Fatalf("%s: %v", tc.spec.Name, err)
		}
		// One at a time, so capacity is used in this order.
		if tc.satellite != "" {
			e.waitFor(tc.spec.Name, 30*time.Second, readyWith(3))
		}
	}
	for _, tc := range cases {
		if tc.satellite == "" {
			e.waitFor(tc.spec.Name, 10*time.Second, func(c *api.Cluster) error {
				if c.Status.Phase != api.PhasePending || !strings.Contains(c.Status.Reason, tc.reason) {
					return errorf("phase %s reason %q, want pending with %q", c.Status.Phase, c.Status.Reason, tc.reason)
				}
				return nil
			})
			continue
		}
		c, err := e.client.GetCluster(ctx, tc.spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status.Satellite != tc.satellite {
			t.Errorf("%s: on %q, want %q", tc.spec.Name, c.Status.Satellite, tc.satellite)
		}
	}

	// A satellite for Mumbai registers: the pending cluster goes there, and only there.
	e.startSatelliteWith("ap-a", "ap-south-1", "aws", []string{"public"}, kv.Capacity{})
	if c := e.waitFor("mumbai", 30*time.Second, readyWith(3)); c.Status.Satellite != "ap-a" {
		t.Fatalf("mumbai placed on %s", c.Status.Satellite)
	}

	// Data residency: each satellite holds exactly the keys of its own clusters.
	for name, want := range map[string][]string{
		"us-a":   {"us-plain"},
		"eu-a":   {"eu-plain", "eu-private"},
		"us-gcp": {"us-gcp"},
	} {
		var keys []string
		var err error
		switch name {
		case "us-a":
			keys, err = us.Satellite.DesiredKeys(ctx)
		case "eu-a":
			keys, err = eu.Satellite.DesiredKeys(ctx)
		case "us-gcp":
			keys, err = gcp.Satellite.DesiredKeys(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range want {
			c, _ := e.client.GetCluster(ctx, n)
			ids = append(ids, physicalID(c))
		}
		if len(keys) != len(ids) {
			t.Fatalf("satellite %s holds %v, want the keys of %v", name, keys, want)
		}
		for _, k := range keys {
			parsed, err := kv.ParseKey(k)
			if err != nil || parsed.Satellite != name || !contains(ids, parsed.Cluster) {
				t.Fatalf("satellite %s holds %s (%v)", name, k, err)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
