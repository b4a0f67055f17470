package main

import (
	"fmt"
	"os"

	"github.com/nats-io/nkeys"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/onboarding"
)

var satelliteCommand = &cli.Command{
	Name:  "satellite",
	Usage: "Onboard satellites",
	Subcommands: []*cli.Command{{
		Name:      "revoke",
		Usage:     "Withdraw a satellite's access (a running mothership cuts its connection within seconds)",
		ArgsUsage: "NAME",
		Flags:     dbFlags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("satellite revoke needs exactly one NAME")
			}
			store, err := openMigrated(c)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := onboarding.Revoke(c.Context, store, c.Args().First()); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "satellite %s revoked\n", c.Args().First())
			return nil
		},
	}, {
		Name:      "add",
		Usage:     "Onboard a satellite: mint its NATS identity (an nkey) and grant it access to its own keys",
		ArgsUsage: "NAME",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "region", Usage: "Region the satellite serves", Required: true, EnvVars: []string{"ORBIT_SATELLITE_REGION"}},
			&cli.StringFlag{Name: "cloud", Usage: "Cloud the satellite runs on", Value: "aws", EnvVars: []string{"ORBIT_SATELLITE_CLOUD"}},
			&cli.StringSliceFlag{Name: "networks", Usage: "Network types it serves", Value: cli.NewStringSlice("public"), EnvVars: []string{"ORBIT_SATELLITE_NETWORKS"}},
			&cli.StringFlag{Name: "seed-file", Usage: "Where to write the satellite's nkey seed (default NAME.nk)", EnvVars: []string{"ORBIT_SATELLITE_SEED_FILE"}},
		}, dbFlags...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("satellite add needs exactly one NAME")
			}
			name := c.Args().First()
			kp, err := nkeys.CreateUser()
			if err != nil {
				return err
			}
			pub, _ := kp.PublicKey()
			seed, _ := kp.Seed()
			spec := onboarding.SatelliteSpec{Name: name, Region: c.String("region"), Cloud: c.String("cloud"), Networks: c.StringSlice("networks"), NKey: pub}
			if err := spec.Validate(); err != nil {
				return err
			}
			store, err := openMigrated(c)
			if err != nil {
				return err
			}
			defer store.Close()
			path := c.String("seed-file")
			if path == "" {
				path = name + ".nk"
			}
			if err := os.WriteFile(path, seed, 0o600); err != nil {
				return err
			}
			if err := onboarding.Add(c.Context, store, spec); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "satellite %s added; its nkey seed is in %s (keep it secret).\nA running mothership grants it access within seconds. Start it with:\n  satellite run --name %s --region %s --cloud %s --hub nats-leaf://<mothership>:7422 --seed-file %s\n",
				name, path, name, spec.Region, spec.Cloud, path)
			return nil
		},
	}},
}
