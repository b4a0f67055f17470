// Command orbit is the Orbit command line. See `orbit --help`.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/logging"
	"github.com/orbitcp/orbit/cmd/orbit/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := app.New(os.Stdout, os.Stderr)
	if err := a.RunContext(ctx, cliargs.Interspersed(a, os.Args)); err != nil {
		if log, ok := a.Metadata[app.MetadataLogger].(*slog.Logger); ok {
			logging.Use(log)
		}
		logging.Exit("orbit", err, app.ExitStatus(err))
	}
}
