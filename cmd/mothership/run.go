package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/cmd/metricslisten"
	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/leader"
	"github.com/orbitcp/orbit/mothership/rollout"
)

var dbFlags = []cli.Flag{
	&cli.StringFlag{Name: "data-dir", Usage: "Where state lives (NATS data; SQLite unless --db is set)", Value: "/var/lib/orbit", EnvVars: []string{"ORBIT_DATA_DIR"}},
	&cli.StringFlag{Name: "credential-key", Usage: "File with the control plane's curve key seed (or a secret of 32 or more characters it is derived from), which seals API key credentials (Kafka, ksqlDB, Connect); every replica needs the same (default <data-dir>/credential-key, created if missing)", EnvVars: []string{"ORBIT_CREDENTIAL_KEY"}},
	&cli.StringFlag{Name: "db", Usage: "Database: postgres://... or a SQLite file (default <data-dir>/orbit.db)", EnvVars: []string{"ORBIT_DB"}},
}

func dbDSN(c *cli.Context) string {
	if dsn := c.String("db"); dsn != "" {
		return dsn
	}
	return filepath.Join(c.String("data-dir"), "orbit.db")
}

// openMigrated opens the database the flags name and brings its schema up to date.
func openMigrated(c *cli.Context) (*db.Store, error) {
	store, err := db.Open(c.Context, dbDSN(c))
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(c.Context); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

var runCommand = &cli.Command{
	Name:  "run",
	Usage: "Run the control plane: embedded NATS hub, database, services and API",
	Description: "On SQLite (the default, a file in --data-dir) the mothership is one process: run exactly one.\n" +
		"Several replicas (--nats-url, --replica-id) share one PostgreSQL database (--db postgres://...).",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "listen", Usage: "API address", Value: "0.0.0.0:8080", EnvVars: []string{"ORBIT_LISTEN"}},
		&cli.StringFlag{Name: "leaf-listen", Usage: "NATS leaf-node address satellites connect to", Value: "0.0.0.0:7422", EnvVars: []string{"ORBIT_LEAF_LISTEN"}},
		&cli.StringSliceFlag{Name: "nats-reader", Usage: "Public nkey of a read-only hub user, as written by \"mothership nats-reader\" (repeatable)", EnvVars: []string{"ORBIT_NATS_READERS"}},
		&cli.StringFlag{Name: "nats-listen", Usage: "NATS client address (empty: none)", EnvVars: []string{"ORBIT_NATS_LISTEN"}},
		&cli.StringFlag{Name: "tls-cert", Usage: "Certificate (PEM) of the API and leaf-node listeners; reloaded when the file changes or on SIGHUP", EnvVars: []string{"ORBIT_TLS_CERT"}},
		&cli.StringFlag{Name: "tls-key", Usage: "Its private key (PEM)", EnvVars: []string{"ORBIT_TLS_KEY"}},
		&cli.StringFlag{Name: "tls-ca", Usage: "CA (PEM) that satellites' client certificates must be signed by (mutual TLS on the leaf-node listener)", EnvVars: []string{"ORBIT_TLS_CA"}},
		&cli.DurationFlag{Name: "deleted-retention", Usage: "How long a deleted cluster can be undeleted (its volumes are kept)", Value: mothership.DefaultDeletedRetention, EnvVars: []string{"ORBIT_DELETED_RETENTION"}},
		metricslisten.Flag,
		&cli.StringFlag{Name: "debug-listen", Usage: "Serve Go's profiler (/debug/pprof) here, e.g. 127.0.0.1:6060 (empty: off; never expose it)", EnvVars: []string{"ORBIT_DEBUG_LISTEN"}},
		&cli.IntFlag{Name: "replicas", Usage: "Copies the hub keeps of each bucket: 1 on a single server, 3 on a hub cluster of three nodes", Value: 1, EnvVars: []string{"ORBIT_REPLICAS"}},
		&cli.StringFlag{Name: "nats-url", Usage: "Hub to connect to as a client (\"mothership hub\" nodes) instead of embedding a hub node: how several replicas share one hub", EnvVars: []string{"ORBIT_NATS_URL"}},
		&cli.StringFlag{Name: "nats-seed-file", Usage: "The mothership's user nkey seed on the hub, or a secret of 32 or more characters it is derived from (with --nats-url; the hub nodes read the same file)", EnvVars: []string{"ORBIT_NATS_SEED_FILE"}},
		&cli.StringFlag{Name: "replica-id", Usage: "This replica's name in the leader election: unique among the motherships on one database, stable across restarts (default: the host name)", EnvVars: []string{"ORBIT_REPLICA_ID"}},
		&cli.DurationFlag{Name: "lease-ttl", Usage: "How long the leader's lease lasts unless renewed: how long a crashed leader goes unreplaced", Value: leader.DefaultTTL, EnvVars: []string{"ORBIT_LEASE_TTL"}},
	}, append(append(clusterFlags, dbFlags...), rolloutFlags...)...),
	Action: func(c *cli.Context) error {
		log, err := logger(c)
		if err != nil {
			return err
		}
		if addr := c.String("debug-listen"); addr != "" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("debug listener: %w", err)
			}
			go func() { _ = http.Serve(ln, nil) }() // net/http/pprof registers on the default mux
			log.Info("profiler listening", "addr", ln.Addr().String())
		}
		// The embedded hub's metrics (if it embeds one) at /hub/metrics, like `mothership hub`'s.
		hubMetrics := &metricslisten.Later{}
		if _, err := metricslisten.Serve(c.Context, c.String("metrics-listen"), map[string]http.Handler{"/metrics": mothership.MetricsHandler(), "/hub/metrics": hubMetrics}, log); err != nil {
			return err
		}
		cluster, err := clusterConfig(c)
		if err != nil {
			return err
		}
		var natsSeed []byte
		if url := c.String("nats-url"); url != "" {
			if c.String("nats-seed-file") == "" {
				return errors.New("--nats-seed-file: the mothership's identity on the hub is required with --nats-url")
			}
			if natsSeed, err = os.ReadFile(c.String("nats-seed-file")); err != nil {
				return fmt.Errorf("--nats-seed-file: %w", err)
			}
			if natsSeed, err = mothership.KeySeed(natsSeed, nkeys.PrefixByteUser); err != nil {
				return fmt.Errorf("--nats-seed-file %s: %w", c.String("nats-seed-file"), err)
			}
		}
		rolloutInterval, satelliteTTL, err := rolloutTimings(c)
		if err != nil {
			return err
		}
		cp, err := devstack.StartControlPlane(c.Context, devstack.ControlPlaneConfig{
			RolloutInterval: rolloutInterval, SatelliteTTL: satelliteTTL,
			ServerName: c.String("server-name"), Cluster: cluster, Replicas: c.Int("replicas"),
			DataDir: c.String("data-dir"), DB: dbDSN(c), CredentialKeyFile: c.String("credential-key"), Listen: c.String("listen"),
			LeafListen: c.String("leaf-listen"), ClientListen: c.String("nats-listen"), NATSReaders: c.StringSlice("nats-reader"), DeletedRetention: c.Duration("deleted-retention"),
			TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"), TLSCA: c.String("tls-ca"), Log: log,
			ReplicaID: c.String("replica-id"), LeaseTTL: c.Duration("lease-ttl"), NATSURL: c.String("nats-url"), NATSSeed: natsSeed,
		})
		if err != nil {
			return err
		}
		if cp.Hub != nil {
			hubMetrics.Set(cp.Hub.MetricsHandler())
		} else {
			hubMetrics.Set(http.NotFoundHandler()) // a client of the hub nodes: scrape those
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				log.Info("SIGHUP: reloading certificates")
				cp.ReloadCertificates()
			}
		}()
		if cp.Hub != nil {
			log.Info("mothership running", "api", cp.URL(), "leaf", cp.Hub.LeafURL(), "db", cp.Store.Dialect())
		} else {
			log.Info("mothership running", "api", cp.URL(), "hub", c.String("nats-url"), "db", cp.Store.Dialect())
		}
		select {
		case <-c.Context.Done():
			log.Info("stopping")
			return cp.Stop()
		case err := <-cp.Done():
			return errors.Join(fmt.Errorf("mothership stopped: %w", err), cp.Stop())
		}
	},
}

var migrateCommand = &cli.Command{
	Name:  "migrate",
	Usage: "Bring the database schema up to date, then exit",
	Flags: dbFlags,
	Action: func(c *cli.Context) error {
		store, err := openMigrated(c)
		if err != nil {
			return err
		}
		defer store.Close()
		fmt.Fprintf(c.App.Writer, "database (%s) is up to date\n", store.Dialect())
		return nil
	},
}

// rolloutFlags are the rollout controller's timings, shared by run and dev.
var rolloutFlags = []cli.Flag{
	&cli.DurationFlag{Name: "rollout-interval", Usage: "How often the rollout controller steps the rollouts in progress", Value: rollout.DefaultInterval, EnvVars: []string{"ORBIT_ROLLOUT_INTERVAL"}},
	&cli.DurationFlag{Name: "satellite-heartbeat-timeout", Usage: "How old a satellite's heartbeat may be for rollouts to count its reports (older: its clusters wait as offline)", Value: rollout.DefaultHeartbeatTTL, EnvVars: []string{"ORBIT_SATELLITE_HEARTBEAT_TIMEOUT"}},
}

// rolloutTimings reads rolloutFlags, refusing what is not positive.
func rolloutTimings(c *cli.Context) (interval, heartbeatTimeout time.Duration, err error) {
	interval, heartbeatTimeout = c.Duration("rollout-interval"), c.Duration("satellite-heartbeat-timeout")
	if interval <= 0 {
		return 0, 0, fmt.Errorf("--rollout-interval: must be positive, got %s", interval)
	}
	if heartbeatTimeout <= 0 {
		return 0, 0, fmt.Errorf("--satellite-heartbeat-timeout: must be positive, got %s", heartbeatTimeout)
	}
	return interval, heartbeatTimeout, nil
}
