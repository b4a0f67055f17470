package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/cmd/metricslisten"
	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/onboarding"
)

// clusterFlags join the embedded hub to a hub cluster, on `run` and on `hub`.
var clusterFlags = []cli.Flag{
	&cli.StringFlag{Name: "server-name", Usage: "Name of this hub server (each node of a hub cluster needs its own)", EnvVars: []string{"ORBIT_SERVER_NAME"}},
	&cli.StringFlag{Name: "cluster-name", Usage: "Hub cluster to join (empty: a single hub server)", EnvVars: []string{"ORBIT_CLUSTER_NAME"}},
	&cli.StringFlag{Name: "cluster-listen", Usage: "Route address the other hub nodes connect to (keep it private)", Value: "0.0.0.0:6222", EnvVars: []string{"ORBIT_CLUSTER_LISTEN"}},
	&cli.StringSliceFlag{Name: "routes", Usage: "Route URLs of the hub nodes, nats-route://host:port (repeatable; the same list on every node)", EnvVars: []string{"ORBIT_ROUTES"}},
	&cli.StringFlag{Name: "cluster-secret", Usage: "Secret every route connection must present (the same on every node)", EnvVars: []string{"ORBIT_CLUSTER_SECRET"}},
}

// clusterConfig reads the cluster flags: nil when no cluster is named.
func clusterConfig(c *cli.Context) (*leafnode.ClusterConfig, error) {
	if c.String("cluster-name") == "" {
		if len(c.StringSlice("routes")) > 0 {
			return nil, errors.New("--routes: set --cluster-name too")
		}
		return nil, nil
	}
	return &leafnode.ClusterConfig{
		Name: c.String("cluster-name"), Listen: c.String("cluster-listen"),
		Routes: c.StringSlice("routes"), Secret: c.String("cluster-secret"),
	}, nil
}

// hubCommand runs a node of a hub cluster without a mothership: the other nodes of the
// production topology (three hub nodes, buckets replicated three times, one of them
// embedded in `mothership run`). Its satellite users come from the database, re-read
// every --access-interval (the running mothership's onboarding and revocation).
var hubCommand = &cli.Command{
	Name:  "hub",
	Usage: "Run one more node of a hub cluster (NATS with JetStream), for `mothership run --cluster-name`",
	Flags: append(append([]cli.Flag{
		&cli.StringFlag{Name: "leaf-listen", Usage: "NATS leaf-node address satellites connect to", Value: "0.0.0.0:7422", EnvVars: []string{"ORBIT_LEAF_LISTEN"}},
		&cli.StringFlag{Name: "tls-cert", Usage: "Certificate (PEM) of the leaf-node listener; reloaded when the file changes", EnvVars: []string{"ORBIT_TLS_CERT"}},
		&cli.StringFlag{Name: "tls-key", Usage: "Its private key (PEM)", EnvVars: []string{"ORBIT_TLS_KEY"}},
		&cli.StringFlag{Name: "tls-ca", Usage: "CA (PEM) that satellites' client certificates must be signed by", EnvVars: []string{"ORBIT_TLS_CA"}},
		&cli.StringFlag{Name: "nats-listen", Usage: "NATS client address the mothership replicas connect to (\"mothership run --nats-url\")", EnvVars: []string{"ORBIT_NATS_LISTEN"}},
		&cli.StringFlag{Name: "nats-seed-file", Usage: "The motherships' user nkey seed (or a secret of 32 or more characters it is derived from): created if missing; the replicas read the same file", EnvVars: []string{"ORBIT_NATS_SEED_FILE"}},
		&cli.StringSliceFlag{Name: "nats-reader", Usage: "Public nkey of a read-only hub user, as written by \"mothership nats-reader\" (repeatable)", EnvVars: []string{"ORBIT_NATS_READERS"}},
		&cli.DurationFlag{Name: "access-interval", Usage: "How often the satellites allowed to connect are re-read from the database", Value: 5 * time.Second, EnvVars: []string{"ORBIT_ACCESS_INTERVAL"}},
		metricslisten.Flag,
	}, clusterFlags...), dbFlags...),
	Action: func(c *cli.Context) error {
		log, err := logger(c)
		if err != nil {
			return err
		}
		cluster, err := clusterConfig(c)
		if err != nil {
			return err
		}
		if cluster == nil && c.String("nats-listen") == "" {
			return errors.New("--cluster-name or --nats-listen: a hub node serves a hub cluster or mothership replicas")
		}
		var mothershipKey string
		if c.String("nats-listen") != "" {
			if mothershipKey, err = mothershipIdentity(c.String("nats-seed-file")); err != nil {
				return err
			}
		}
		if c.Duration("access-interval") <= 0 {
			return errors.New("--access-interval: must be positive")
		}
		store, err := db.Open(c.Context, dbDSN(c))
		if err != nil {
			return err
		}
		defer store.Close()
		cfg := leafnode.HubConfig{
			ServerName: c.String("server-name"), StoreDir: filepath.Join(c.String("data-dir"), "nats"),
			LeafListen: c.String("leaf-listen"), Cluster: cluster, Log: log.With("component", "hub"),
			ClientListen: c.String("nats-listen"), MothershipNKey: mothershipKey, Readers: c.StringSlice("nats-reader"),
		}
		ctx, cancel := context.WithCancel(c.Context)
		defer cancel()
		if c.String("tls-cert") != "" || c.String("tls-key") != "" {
			certs, err := leafnode.NewCertReloader(c.String("tls-cert"), c.String("tls-key"), log)
			if err != nil {
				return err
			}
			if cfg.LeafTLS, err = certs.ServerConfig(c.String("tls-ca")); err != nil {
				return err
			}
			reload := make(chan struct{}, 1)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default:
					}
				}
			}()
			go certs.Run(ctx, 5*time.Second, reload)
		}
		// Start with the satellites known now, so that none is refused while the first read
		// of the loop is pending; an unreadable database (not migrated yet) starts with none.
		if cfg.Satellites, err = onboarding.NewAccess(store, nil, nil, log).Users(ctx); err != nil {
			log.Warn("reading satellites", "error", err)
		}
		hub, err := leafnode.StartHub(cfg)
		if err != nil {
			return err
		}
		defer hub.Shutdown()
		if _, err := metricslisten.Serve(ctx, c.String("metrics-listen"), map[string]http.Handler{"/metrics": hub.MetricsHandler()}, log); err != nil {
			return err
		}
		log.Info("hub node running", "server", cfg.ServerName, "cluster", cluster != nil, "leaf", hub.LeafURL(), "clients", c.String("nats-listen"), "satellites", len(cfg.Satellites))
		err = onboarding.NewAccess(store, nil, hub, log).Run(ctx, c.Duration("access-interval"))
		log.Info("stopping")
		return err
	},
}

// mothershipIdentity returns the public key of the motherships' user nkey, whose seed is in
// path, creating the seed if there is none yet.
func mothershipIdentity(path string) (string, error) {
	if path == "" {
		return "", errors.New("--nats-seed-file: the motherships' identity is required with --nats-listen")
	}
	seed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return "", err
		}
		seed, _ = kp.Seed()
		if err := os.WriteFile(path, seed, 0o600); err != nil {
			return "", fmt.Errorf("--nats-seed-file: %w", err)
		}
	} else if err != nil {
		return "", fmt.Errorf("--nats-seed-file: %w", err)
	}
	if seed, err = mothership.KeySeed(seed, nkeys.PrefixByteUser); err != nil {
		return "", fmt.Errorf("--nats-seed-file %s: %w", path, err)
	}
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return "", fmt.Errorf("--nats-seed-file %s: %w", path, err)
	}
	return kp.PublicKey()
}
