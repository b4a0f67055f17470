package main

import (
	"fmt"
	"os"

	"github.com/nats-io/nkeys"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/leafnode"
)

// natsReaderCommand mints a read-only hub credential for operators' `nats` CLI. The hub
// knows readers by public nkey only: pass it to `mothership run --nats-reader` (or
// ORBIT_NATS_READERS); the seed stays in the file. Readers reach JetStream through the
// hub's reader gateway, at leafnode.ReaderAPIPrefix.
var natsReaderCommand = &cli.Command{
	Name:  "nats-reader",
	Usage: "Write a read-only NATS credential (nkey seed) for the stock nats CLI's kv ls, get and watch on the hub (with --js-api-prefix '" + leafnode.ReaderAPIPrefix + "')",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "out", Usage: "File to write the nkey seed to (for nats --nkey FILE)", Required: true, EnvVars: []string{"ORBIT_NATS_READER_OUT"}},
	},
	Action: func(c *cli.Context) error {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return err
		}
		seed, _ := kp.Seed()
		pub, _ := kp.PublicKey()
		f, err := os.OpenFile(c.String("out"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if _, err := f.Write(append(seed, '\n')); err != nil {
			f.Close()
			return fmt.Errorf("--out: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		fmt.Fprintf(c.App.Writer, "read-only nkey seed written to %s (keep it secret). Grant it with:\n  mothership run --nats-reader %s\nthen: nats --server <hub> --nkey %s --js-api-prefix '%s' kv ls\n", c.String("out"), pub, c.String("out"), leafnode.ReaderAPIPrefix)
		return nil
	},
}
