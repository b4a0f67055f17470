package leafnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/kv"
)

// LeafConfig configures a satellite's leaf node.
type LeafConfig struct {
	// Satellite names the satellite; it is also the leaf's JetStream domain.
	Satellite string
	// StoreDir holds the leaf's JetStream data: the mirror of the satellite's desired keys,
	// which is all it needs to keep its clusters converged while the hub is away.
	StoreDir string
	// HubURLs are the hub's leaf-node URLs (nats-leaf://host:port).
	HubURLs []string
	// Seed is the satellite's user nkey seed.
	Seed []byte
	// HubTLS, if set, is how the leaf verifies the hub (its CA); the hub URLs then speak TLS.
	HubTLS *tls.Config
	// ReconnectInterval is how long the leaf waits between attempts to reach the hub
	// (default 1s).
	ReconnectInterval time.Duration
	// Log receives the server's log; nil keeps it silent.
	Log *slog.Logger
}

// Validate checks the configuration.
func (c *LeafConfig) Validate() error {
	if err := kv.ValidateName("satellite", c.Satellite); err != nil {
		return err
	}
	if c.Satellite == kv.HubDomain {
		return fmt.Errorf("satellite: %q is the hub's JetStream domain and cannot name a satellite", kv.HubDomain)
	}
	if c.StoreDir == "" {
		return errors.New("leaf: store dir is required")
	}
	if len(c.HubURLs) == 0 {
		return errors.New("leaf: at least one hub URL is required")
	}
	for _, u := range c.HubURLs {
		if _, err := url.Parse(u); err != nil {
			return fmt.Errorf("leaf: hub URL %q: %w", u, err)
		}
	}
	kp, err := nkeys.FromSeed(c.Seed)
	if err != nil {
		return errors.New("leaf: the satellite seed is not a valid nkey seed")
	}
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return errors.New("leaf: the satellite seed is not a user nkey seed")
	}
	return nil
}

// Leaf is a satellite's embedded leaf-node server. It has no listeners: the satellite
// connects in-process.
type Leaf struct {
	srv       *server.Server
	satellite string
}

// StartLeaf starts the leaf node and waits until it serves in-process connections. It does
// not wait for the hub: a satellite must start and keep working while the hub is away.
func StartLeaf(cfg LeafConfig) (*Leaf, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var urls []*url.URL
	for _, raw := range cfg.HubURLs {
		u, _ := url.Parse(raw)
		urls = append(urls, u)
	}
	reconnect := cfg.ReconnectInterval
	if reconnect <= 0 {
		reconnect = time.Second
	}
	opts := &server.Options{
		ServerName:      "orbit-satellite-" + cfg.Satellite,
		JetStream:       true,
		JetStreamDomain: cfg.Satellite,
		StoreDir:        cfg.StoreDir,
		DontListen:      true,
		NoSigs:          true,
		NoLog:           cfg.Log == nil,
		// Scoped replies to the JetStream API requests the mirror makes of the hub, so the
		// hub can allow this satellite exactly its own (see SatellitePermissions).
		FeatureFlags: map[string]bool{server.FeatureFlagJsAPIReplyFormatV2: true},
		LeafNode: server.LeafNodeOpts{
			ReconnectInterval: reconnect,
			Remotes: []*server.RemoteLeafOpts{{
				URLs: urls,
				// The remote's Nkey is the user seed: the server signs the hub's nonce with it.
				Nkey:       string(cfg.Seed),
				TLS:        cfg.HubTLS != nil,
				TLSConfig:  cfg.HubTLS,
				TLSTimeout: 5,
			}},
		},
	}
	srv, err := startServer("leaf", opts, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &Leaf{srv: srv, satellite: cfg.Satellite}, nil
}

// Connect opens an in-process client connection with the satellite's inbox prefix.
func (l *Leaf) Connect(opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{
		nats.InProcessServer(l.srv),
		nats.Name("orbit-satellite-" + l.satellite),
		nats.CustomInboxPrefix(InboxPrefix(l.satellite)),
		nats.MaxReconnects(-1),
	}, opts...)
	return nats.Connect("", opts...)
}

// HubConnected reports whether the leaf currently has its connection to the hub.
func (l *Leaf) HubConnected() bool { return l.srv.NumLeafNodes() > 0 }

// HubAddr is the address (ip:port) of the hub node the leaf is connected to, or "" when it
// is not: with a hub cluster, which of the nodes a satellite reached.
func (l *Leaf) HubAddr() string {
	lz, err := l.srv.Leafz(nil)
	if err != nil || len(lz.Leafs) == 0 {
		return ""
	}
	return net.JoinHostPort(lz.Leafs[0].IP, strconv.Itoa(lz.Leafs[0].Port))
}

// Server returns the embedded server.
func (l *Leaf) Server() *server.Server { return l.srv }

// Shutdown stops the leaf and waits for it.
func (l *Leaf) Shutdown() {
	l.srv.Shutdown()
	l.srv.WaitForShutdown()
}

// startServer starts an embedded server with opts, its logs routed to log, and waits until
// it takes connections. what names it in errors ("hub", "leaf").
func startServer(what string, opts *server.Options, log *slog.Logger) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	attachLogger(srv, log)
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("%s: %w", what, ErrNotReady)
	}
	return srv, nil
}
