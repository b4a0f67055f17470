package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nkeys"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership"
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
			&cli.StringFlag{Name: "curve-seed-file", Usage: "Where to write the satellite's curve key seed, which opens its API key credentials (default NAME.xk)", EnvVars: []string{"ORBIT_SATELLITE_CURVE_SEED_FILE"}},
			&cli.StringFlag{Name: "credential-sender-file", Usage: "Where to write the control plane's public curve key, the only sender whose credentials the satellite opens (default NAME.sender)", EnvVars: []string{"ORBIT_SATELLITE_CREDENTIAL_SENDER_FILE"}},
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
			ckp, err := nkeys.CreateCurveKeys()
			if err != nil {
				return err
			}
			curvePub, _ := ckp.PublicKey()
			curveSeed, _ := ckp.Seed()
			spec := onboarding.SatelliteSpec{Name: name, Region: c.String("region"), Cloud: c.String("cloud"), Networks: c.StringSlice("networks"),
				NKey: pub, CurveKey: curvePub}
			if err := spec.Validate(); err != nil {
				return err
			}
			store, err := openMigrated(c)
			if err != nil {
				return err
			}
			defer store.Close()
			// The satellite opens only Kafka credentials sealed with the control plane's
			// curve key: it is given the public half.
			keyFile := c.String("credential-key")
			if keyFile == "" {
				keyFile = filepath.Join(c.String("data-dir"), "credential-key")
			}
			credKey, err := mothership.LoadCredentialKey(keyFile)
			if err != nil {
				return fmt.Errorf("--credential-key: %w", err)
			}
			sender, _ := credKey.PublicKey()
			path := c.String("seed-file")
			if path == "" {
				path = name + ".nk"
			}
			curvePath := c.String("curve-seed-file")
			if curvePath == "" {
				curvePath = name + ".xk"
			}
			if err := os.WriteFile(path, seed, 0o600); err != nil {
				return err
			}
			if err := os.WriteFile(curvePath, curveSeed, 0o600); err != nil {
				return err
			}
			senderPath := c.String("credential-sender-file")
			if senderPath == "" {
				senderPath = name + ".sender"
			}
			if err := os.WriteFile(senderPath, []byte(sender+"\n"), 0o644); err != nil {
				return err
			}
			if err := onboarding.Add(c.Context, store, spec); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "satellite %s added; its nkey seed is in %s and its curve key seed in %s (keep both secret).\n"+
				"Onboarding a satellite again mints a new curve key: the API keys of its clusters (Kafka, ksqlDB, Connect) are sealed again to it\n"+
				"(the old seed no longer opens them), so start it with the new files.\n"+
				"It accepts credentials sealed by this control plane's curve key %s only (in %s; every mothership\n"+
				"replica must run with the same --credential-key).\n"+
				"A running mothership grants it access within seconds. Start it with:\n  satellite run --name %s --region %s --cloud %s --hub nats-leaf://<mothership>:7422 --seed-file %s --curve-seed-file %s --credential-sender-file %s\n",
				name, path, curvePath, sender, senderPath, name, spec.Region, spec.Cloud, path, curvePath, senderPath)
			return nil
		},
	}},
}
