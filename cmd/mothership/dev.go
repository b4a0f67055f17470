package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
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
		&cli.StringFlag{Name: "nats-listen", Usage: "NATS client address (empty: none, the mothership connects in-process)", EnvVars: []string{"ORBIT_NATS_LISTEN"}},
		&cli.StringSliceFlag{Name: "region", Usage: "Region to run a satellite for (repeatable)", Value: cli.NewStringSlice("us-west-2"), EnvVars: []string{"ORBIT_REGIONS"}},
		&cli.StringFlag{Name: "kubeconfig", Usage: "Kubernetes for the satellites (empty: a simulated one each)", EnvVars: []string{"ORBIT_KUBECONFIG"}},
		&cli.StringFlag{Name: "dev-api-key", Usage: "API key of the dev tenant (default: generated once and kept in the data dir)", EnvVars: []string{"ORBIT_DEV_API_KEY"}},
		&cli.DurationFlag{Name: "deleted-retention", Usage: "How long a deleted cluster can be undeleted (its volumes are kept)", Value: mothershipDefaultRetention, EnvVars: []string{"ORBIT_DELETED_RETENTION"}},
		&cli.DurationFlag{Name: "sim-step", Usage: "How long a simulated replica takes to become ready", Value: 250 * time.Millisecond, EnvVars: []string{"ORBIT_SIM_STEP"}},
	},
	Action: runDev,
}

func runDev(c *cli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	dataDir := c.String("data-dir")
	cp, err := devstack.StartControlPlane(ctx, devstack.ControlPlaneConfig{
		DataDir: dataDir, Listen: c.String("listen"), LeafListen: c.String("leaf-listen"),
		ClientListen: c.String("nats-listen"), DeletedRetention: c.Duration("deleted-retention"), Log: log,
	})
	if err != nil {
		return err
	}
	key, err := devAPIKey(c.String("dev-api-key"), filepath.Join(dataDir, "dev-api-key"))
	if err != nil {
		return errors.Join(err, cp.Stop())
	}
	if err := cp.Mothership.EnsureAPIKey(ctx, devTenant, api.RoleOperator, key, "mothership dev"); err != nil {
		return errors.Join(err, cp.Stop())
	}

	var sats []*devstack.SatelliteNode
	stopAll := func() error {
		var errs []error
		for _, s := range sats {
			errs = append(errs, s.Stop())
		}
		return errors.Join(append(errs, cp.Stop())...)
	}
	kubeconfig := c.String("kubeconfig")
	kubeKind := "simulated Kubernetes (no --kubeconfig)"
	if kubeconfig != "" {
		kubeKind = "Kubernetes from " + kubeconfig
	}
	regions := c.StringSlice("region")
	for _, region := range regions {
		dir := filepath.Join(dataDir, "satellites", region)
		seed, err := cp.Onboard(ctx, region, region, "aws", []string{"public", "vpc-peering", "private-link"}, dir)
		if err != nil {
			return errors.Join(fmt.Errorf("satellite %s: %w", region, err), stopAll())
		}
		log.Info("starting satellite", "satellite", region, "kubernetes", kubeKind)
		n, err := devstack.StartSatellite(ctx, devstack.SatelliteConfig{
			Name: region, Region: region, Cloud: "aws", Networks: []string{"public", "vpc-peering", "private-link"},
			Dir: dir, HubURLs: []string{cp.Hub.LeafURL()}, Seed: seed, Version: "dev", Kubeconfig: kubeconfig,
			SimStep: c.Duration("sim-step"), Log: log,
		})
		if err != nil {
			return errors.Join(fmt.Errorf("satellite %s: %w", region, err), stopAll())
		}
		sats = append(sats, n)
	}

	envFile := filepath.Join(dataDir, "env")
	envLine := fmt.Sprintf("export ORBIT_SERVER=%s ORBIT_API_KEY=%s\n", cp.URL(), key)
	if err := os.WriteFile(envFile, []byte(envLine), 0o600); err != nil {
		return errors.Join(err, stopAll())
	}
	fmt.Fprintf(c.App.Writer, `
Orbit is running in dev mode (state in %s).
  API:         %s
  API key:     %s
  Satellites:  %s, each on a %s
  NATS leaf:   %s

In another shell:
  source %s        # or: %s
  orbit cluster create demo --product kafka --cku 1 --region %s --wait

Ctrl-C stops Orbit; starting it again on the same data dir resumes where it was.
`, dataDir, cp.URL(), key, strings.Join(regions, ", "), kubeKind, cp.Hub.LeafURL(), envFile, strings.TrimSpace(envLine), regions[0])

	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-cp.Done():
		return errors.Join(fmt.Errorf("mothership stopped: %w", err), stopAll())
	}
	return stopAll()
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
