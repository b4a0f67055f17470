package app

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/urfave/cli/v2"
)

var usageCommand = &cli.Command{
	Name:  "usage",
	Usage: "Show what your clusters ran, per hour: CKU-hours, storage GiB-hours and partition-hours",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "since", Usage: "How far back", Value: 24 * time.Hour, EnvVars: []string{"ORBIT_USAGE_SINCE"}},
	},
	Action: func(c *cli.Context) error {
		since := time.Now().Add(-c.Duration("since"))
		return show(c, func(ctx context.Context, cl *api.Client) ([]api.Usage, error) { return cl.Usage(ctx, since) }, usageTable)
	},
}

func usageTable(rows []api.Usage) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "HOUR\tCLUSTER\tCKU-HOURS\tSTORAGE GIB-HOURS\tPARTITION-HOURS")
		var cku, gib, parts float64
		for _, u := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.1f\t%.1f\n", u.Hour.Format("2006-01-02 15:00"), u.Cluster, u.CKUHours, u.StorageGiBHours, u.PartitionHours)
			cku, gib, parts = cku+u.CKUHours, gib+u.StorageGiBHours, parts+u.PartitionHours
		}
		fmt.Fprintf(tw, "total\t\t%.3f\t%.1f\t%.1f\n", cku, gib, parts)
	}
}
