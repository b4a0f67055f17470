// Command mothership runs Orbit's control plane: `mothership dev` (everything on one
// machine), `mothership run` (production), `mothership hub` (the other nodes of a hub
// cluster), `mothership migrate`, `mothership satellite add`, `mothership apikey create`, and
// `mothership backup` and `mothership restore`.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/logging"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:           "mothership",
		Usage:          "Orbit's control plane",
		HideVersion:    true,
		Flags:          logging.Flags(),
		Before:         func(c *cli.Context) error { _, err := logging.Setup(c, os.Stderr); return err },
		Commands:       []*cli.Command{devCommand, runCommand, hubCommand, migrateCommand, satelliteCommand, natsReaderCommand, apikeyCommand, backupCommand, restoreCommand},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.RunContext(ctx, cliargs.Interspersed(app, os.Args)); err != nil {
		logging.Exit("mothership", err, 1)
	}
}

func logger(c *cli.Context) (*slog.Logger, error) {
	return logging.Setup(c, os.Stderr)
}
