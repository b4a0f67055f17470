// Command mothership runs Orbit's control plane: `mothership dev` (everything on one
// machine), `mothership run` (production), `mothership hub` (the other nodes of a hub
// cluster), `mothership migrate` and `mothership satellite add`.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.App{
		Name:        "mothership",
		Usage:       "Orbit's control plane",
		HideVersion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Usage: "Log level: debug, info, warn or error", Value: "info", EnvVars: []string{"ORBIT_LOG_LEVEL"}},
		},
		Commands:       []*cli.Command{devCommand, runCommand, hubCommand, migrateCommand, satelliteCommand, apikeyCommand},
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.RunContext(ctx, cliargs.Interspersed(app, os.Args)); err != nil {
		fmt.Fprintln(os.Stderr, "mothership: "+err.Error())
		os.Exit(1)
	}
}

func logger(c *cli.Context) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}
