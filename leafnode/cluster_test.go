package leafnode

import (
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// TestHubClusterConfigErrorsNameTheField: a bad cluster setting is refused before any
// server starts, with the setting named.
func TestHubClusterConfigErrorsNameTheField(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	good := func() HubConfig {
		return HubConfig{
			ServerName: "n1", StoreDir: t.TempDir(), LeafListen: "127.0.0.1:-1", MothershipNKey: pub,
			Cluster: &ClusterConfig{Name: "orbit-hub", Listen: "127.0.0.1:-1", Routes: []string{"nats-route://127.0.0.1:6222"}},
		}
	}
	for _, tc := range []struct {
		name, want string
		change     func(*HubConfig)
	}{
		{"no server name", "server name", func(c *HubConfig) { c.ServerName = "" }},
		{"no cluster name", "cluster name", func(c *HubConfig) { c.Cluster.Name = "" }},
		{"bad cluster name", "cluster name", func(c *HubConfig) { c.Cluster.Name = "orbit hub" }},
		{"bad listen", "cluster listen", func(c *HubConfig) { c.Cluster.Listen = "6222" }},
		{"no routes", "cluster routes", func(c *HubConfig) { c.Cluster.Routes = nil }},
		{"route not a route URL", "cluster routes", func(c *HubConfig) { c.Cluster.Routes = []string{"nats://127.0.0.1:4222"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	cfg := good()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid configuration refused: %v", err)
	}
	_, gateway := newUserKey(t)
	opts, err := hubOptions(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	if opts.DontListen || opts.Host != "127.0.0.1" {
		t.Fatalf("a cluster node needs a (loopback) client listener for routing to start: %+v", opts.Host)
	}
}
