package app

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/api"
)

var satelliteCommand = &cli.Command{
	Name:        "satellite",
	Usage:       "Inspect satellites",
	Subcommands: []*cli.Command{listCommand("List registered satellites", (*api.Client).ListSatellites, satelliteTable)},
}

var controllerCommand = &cli.Command{
	Name:  "controller",
	Usage: "Inspect the mothership's controllers (operators)",
	Subcommands: []*cli.Command{listCommand("List each controller's events not yet reconciled: pending in EVENTS, delivered and unacknowledged, queued for a worker",
		(*api.Client).ListControllers, controllerTable)},
}

// listCommand is a `list` subcommand: fetch, then render as -o asks.
func listCommand[T any](usage string, fetch func(*api.Client, context.Context) ([]T, error), table func([]T) func(*tabwriter.Writer)) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: usage,
		Action: func(c *cli.Context) error {
			return show(c, func(ctx context.Context, cl *api.Client) ([]T, error) { return fetch(cl, ctx) }, table)
		},
	}
}

func controllerTable(cs []api.Controller) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tPENDING\tUNACKED\tQUEUED")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", c.Name, c.Pending, c.Unacked, c.Queued)
		}
	}
}
