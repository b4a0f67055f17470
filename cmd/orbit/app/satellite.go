package app

import (
	"github.com/urfave/cli/v2"
)

var satelliteCommand = &cli.Command{
	Name:  "satellite",
	Usage: "Inspect satellites",
	Subcommands: []*cli.Command{
		{
			Name:  "list",
			Usage: "List registered satellites",
			Action: func(c *cli.Context) error {
				format, err := outputFormat(c)
				if err != nil {
					return err
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				sats, err := cl.ListSatellites(c.Context)
				if err != nil {
					return err
				}
				return render(c.App.Writer, format, sats, satelliteTable(sats))
			},
		},
	},
}
