package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/cmd/metricslisten"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/satellite"
)

const devTenant = "dev"

const mothershipDefaultRetention = mothership.DefaultDeletedRetention

var devCommand = &cli.Command{
	Name:  "dev",
	Usage: "Run Orbit on this machine: NATS hub, SQLite, API and one in-process satellite per region",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Usage: "Where state lives (SQLite, NATS, satellite stores)", Value: ".orbit", EnvVars: []string{"ORBIT_DATA_DIR"}},
		&cli.StringFlag{Name: "listen", Usage: "API address", Value: "127.0.0.1:8080", EnvVars: []string{"ORBIT_LISTEN"}},
		&cli.StringFlag{Name: "leaf-listen", Usage: "NATS leaf-node address satellites connect to", Value: "127.0.0.1:7422", EnvVars: []string{"ORBIT_LEAF_LISTEN"}},
		&cli.StringSliceFlag{Name: "nats-reader", Usage: "Public nkey of a read-only hub user, as written by \"mothership nats-reader\" (repeatable)", EnvVars: []string{"ORBIT_NATS_READERS"}},
		&cli.StringFlag{Name: "satellite-hub", Usage: "Address the in-process satellites dial to reach the hub's leaf listener (default --leaf-listen): a proxy in front of it, to rehearse a partition", EnvVars: []string{"ORBIT_SATELLITE_HUB"}},
		&cli.StringFlag{Name: "nats-listen", Usage: "NATS client address (empty: none, the mothership connects in-process)", EnvVars: []string{"ORBIT_NATS_LISTEN"}},
		&cli.StringSliceFlag{Name: "region", Usage: "Region to run a satellite for (repeatable)", Value: cli.NewStringSlice("us-west-2"), EnvVars: []string{"ORBIT_REGIONS"}},
		&cli.StringFlag{Name: "kubeconfig", Usage: "Kubernetes for the satellites (empty: a simulated one each)", EnvVars: []string{"ORBIT_KUBECONFIG"}},
		&cli.StringFlag{Name: "dev-api-key", Usage: "API key of the dev tenant (default: generated once and kept in the data dir)", EnvVars: []string{"ORBIT_DEV_API_KEY"}},
		&cli.DurationFlag{Name: "deleted-retention", Usage: "How long a deleted cluster can be undeleted (its volumes are kept)", Value: mothershipDefaultRetention, EnvVars: []string{"ORBIT_DELETED_RETENTION"}},
		metricslisten.Flag,
		&cli.DurationFlag{Name: "sim-step", Usage: "How long a simulated replica takes to become ready", Value: 250 * time.Millisecond, EnvVars: []string{"ORBIT_SIM_STEP"}},
		rolloutFlags[0], rolloutFlags[1],
	},
	Action: runDev,
}

func runDev(c *cli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	ctx, dataDir := c.Context, c.String("data-dir")
	// One listener: the mothership's metrics at /metrics, the in-process satellites' (each
	// series labelled with its satellite) at /satellites/metrics, the hub's at /hub/metrics.
	hubMetrics := &metricslisten.Later{}
	metricsAddr, err := metricslisten.Serve(ctx, c.String("metrics-listen"), map[string]http.Handler{
		"/metrics": mothership.MetricsHandler(), "/satellites/metrics": satellite.MetricsHandler(), "/hub/metrics": hubMetrics}, log)
	if err != nil {
		return err
	}
	rolloutInterval, satelliteTTL, err := rolloutTimings(c)
	if err != nil {
		return err
	}
	cp, err := devstack.StartControlPlane(ctx, devstack.ControlPlaneConfig{
		RolloutInterval: rolloutInterval, SatelliteTTL: satelliteTTL,
		DataDir: dataDir, Listen: c.String("listen"), LeafListen: c.String("leaf-listen"),
		ClientListen: c.String("nats-listen"), NATSReaders: c.StringSlice("nats-reader"), DeletedRetention: c.Duration("deleted-retention"), Log: log,
	})
	if err != nil {
		return err
	}
	if cp.Hub != nil { // dev mode embeds its hub
		hubMetrics.Set(cp.Hub.MetricsHandler())
	}
	d := &devFleet{cp: cp, metricsAddr: metricsAddr}
	key, err := devAPIKey(c.String("dev-api-key"), filepath.Join(dataDir, "dev-api-key"))
	if err == nil {
		err = cp.Mothership.EnsureAPIKey(ctx, devTenant, api.RoleOperator, key, "mothership dev")
	}
	if err == nil {
		err = d.startSatellites(c, log)
	}
	if err == nil {
		err = d.announce(c, key)
	}
	if err != nil {
		return errors.Join(err, d.stop())
	}
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-cp.Done():
		return errors.Join(fmt.Errorf("mothership stopped: %w", err), d.stop())
	}
	return d.stop()
}

// devFleet is what `mothership dev` runs: the control plane and a satellite per region.
type devFleet struct {
	cp          *devstack.ControlPlane
	metricsAddr string
	sats        []*devstack.SatelliteNode
	kubeKind    string
}

var devNetworks = []string{"public", "vpc-peering", "private-link"}

func (d *devFleet) startSatellites(c *cli.Context, log *slog.Logger) error {
	kubeconfig := c.String("kubeconfig")
	d.kubeKind = "simulated Kubernetes (no --kubeconfig)"
	if kubeconfig != "" {
		d.kubeKind = "Kubernetes from " + kubeconfig
	}
	hubURL := d.cp.Hub.LeafURL()
	if addr := c.String("satellite-hub"); addr != "" {
		hubURL = "nats-leaf://" + addr
	}
	for _, region := range c.StringSlice("region") {
		dir := filepath.Join(c.String("data-dir"), "satellites", region)
		seed, err := d.cp.Onboard(c.Context, region, region, "aws", devNetworks, dir)
		if err != nil {
			return fmt.Errorf("satellite %s: %w", region, err)
		}
		log.Info("starting satellite", "satellite", region, "kubernetes", d.kubeKind)
		n, err := devstack.StartSatellite(c.Context, devstack.SatelliteConfig{
			Name: region, Region: region, Cloud: "aws", Networks: devNetworks,
			Dir: dir, HubURLs: []string{hubURL}, Seed: seed, Version: "dev", Kubeconfig: kubeconfig,
			SimStep: c.Duration("sim-step"), Log: log,
		})
		if err != nil {
			return fmt.Errorf("satellite %s: %w", region, err)
		}
		d.sats = append(d.sats, n)
	}
	return nil
}

// announce writes the env file and tells the user how to reach Orbit.
func (d *devFleet) announce(c *cli.Context, key string) error {
	dataDir, regions := c.String("data-dir"), c.StringSlice("region")
	envFile := filepath.Join(dataDir, "env")
	envLine := fmt.Sprintf("export ORBIT_SERVER=%s ORBIT_API_KEY=%s\n", d.cp.URL(), key)
	if err := os.WriteFile(envFile, []byte(envLine), 0o600); err != nil {
		return err
	}
	metricsLine := ""
	if d.metricsAddr != "" {
		metricsLine = fmt.Sprintf("\n  Metrics:     http://%[1]s/metrics (mothership), http://%[1]s/satellites/metrics (satellites)", d.metricsAddr)
	}
	fmt.Fprintf(c.App.Writer, `
Orbit is running in dev mode (state in %s).
  API:         %s
  Console:     %s/console/ (log in with the API key)
  API key:     %s
  Satellites:  %s, each on a %s
  NATS leaf:   %s%s

In another shell:
  source %s        # or: %s
  orbit cluster create demo --product kafka --cku 1 --region %s --wait

Ctrl-C stops Orbit; starting it again on the same data dir resumes where it was.
`, dataDir, d.cp.URL(), d.cp.URL(), key, strings.Join(regions, ", "), d.kubeKind, d.cp.Hub.LeafURL(), metricsLine, envFile, strings.TrimSpace(envLine), regions[0])
	return nil
}

func (d *devFleet) stop() error {
	var errs []error
	for _, s := range d.sats {
		errs = append(errs, s.Stop())
	}
	return errors.Join(append(errs, d.cp.Stop())...)
}

// devAPIKey returns the configured key, or the one kept in path, or a new one (kept there).
func devAPIKey(flag, path string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key := frontend.NewAPIKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}
