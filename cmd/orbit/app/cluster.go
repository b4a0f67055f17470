package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/api"
)

var waitFlags = []cli.Flag{
	&cli.BoolFlag{Name: "wait", Usage: "Wait until the change has converged, showing progress", EnvVars: []string{"ORBIT_WAIT"}},
	&cli.DurationFlag{Name: "timeout", Usage: "How long --wait waits", Value: 10 * time.Minute, EnvVars: []string{"ORBIT_WAIT_TIMEOUT"}},
}

var clusterCommand = &cli.Command{
	Name:  "cluster",
	Usage: "Create, inspect, resize and delete clusters",
	Subcommands: []*cli.Command{
		clusterAPIKeyCommand,
		{
			Name:      "create",
			Usage:     "Create a cluster",
			ArgsUsage: "NAME",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "product", Usage: "Product: kafka, ksqldb or connect", Value: "kafka", EnvVars: []string{"ORBIT_PRODUCT"}},
				&cli.IntFlag{Name: "cku", Usage: "Size in CKUs (1 CKU = 3 Kafka brokers)", Value: 1, EnvVars: []string{"ORBIT_CKU"}},
				&cli.StringFlag{Name: "region", Usage: "Region, e.g. us-west-2", Required: true, EnvVars: []string{"ORBIT_REGION"}},
				&cli.StringFlag{Name: "sku", Usage: "SKU (default dedicated)", EnvVars: []string{"ORBIT_SKU"}},
				&cli.StringFlag{Name: "cloud", Usage: "Cloud (default aws)", EnvVars: []string{"ORBIT_CLOUD"}},
				&cli.StringFlag{Name: "network", Usage: "Network type: public, vpc-peering or private-link (default public)", EnvVars: []string{"ORBIT_NETWORK"}},
				&cli.StringFlag{Name: "kafka", Usage: "The Kafka cluster a ksqldb or connect cluster works with", EnvVars: []string{"ORBIT_KAFKA"}},
			}, waitFlags...),
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.CreateCluster(ctx, api.ClusterSpec{
						Name: name, Product: c.String("product"), CKU: c.Int("cku"), Region: c.String("region"),
						SKU: c.String("sku"), Cloud: c.String("cloud"), Network: c.String("network"), Kafka: c.String("kafka"),
					})
				}, untilReady)
			},
		},
		{
			Name:      "get",
			Usage:     "Show a cluster",
			ArgsUsage: "NAME",
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.GetCluster(ctx, name)
				}, nil)
			},
		},
		{
			Name:      "ca",
			Usage:     "Print the CA certificate (PEM) that clients of the cluster trust",
			ArgsUsage: "NAME",
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				cluster, err := cl.GetCluster(c.Context, name)
				if err != nil {
					return err
				}
				if cluster.Status.CACertificate == "" {
					return fmt.Errorf("cluster %q has no CA yet (its satellite has not reported one)", name)
				}
				_, err = fmt.Fprint(c.App.Writer, cluster.Status.CACertificate)
				return err
			},
		},
		{
			Name:  "list",
			Usage: "List clusters",
			Action: func(c *cli.Context) error {
				return show(c, func(ctx context.Context, cl *api.Client) ([]api.Cluster, error) { return cl.ListClusters(ctx) },
					func(list []api.Cluster) func(*tabwriter.Writer) { return clusterTable(list...) })
			},
		},
		{
			Name:      "resize",
			Usage:     "Change a cluster's size",
			ArgsUsage: "NAME",
			Flags: append([]cli.Flag{
				&cli.IntFlag{Name: "cku", Usage: "New size in CKUs", Required: true, EnvVars: []string{"ORBIT_CKU"}},
			}, waitFlags...),
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				cku := c.Int("cku")
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.UpdateCluster(ctx, name, api.ClusterUpdate{CKU: &cku})
				}, untilReady)
			},
		},
		{
			Name:      "mitigation",
			Usage:     "Turn the satellite's automated mitigation of a dedicated cluster on or off (restarts, disk growth, rebalances)",
			ArgsUsage: "NAME on|off",
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return fmt.Errorf("usage: orbit cluster mitigation NAME on|off")
				}
				name, mode := c.Args().Get(0), c.Args().Get(1)
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.UpdateCluster(ctx, name, api.ClusterUpdate{Mitigation: &mode})
				}, nil)
			},
		},
		{
			Name:      "delete",
			Usage:     "Delete a cluster: its workloads go; its volumes are kept until it can no longer be undeleted",
			ArgsUsage: "NAME",
			Flags: append([]cli.Flag{
				&cli.BoolFlag{Name: "cascade", Usage: "Also delete the ksqldb and connect clusters that work with this Kafka cluster", EnvVars: []string{"ORBIT_CASCADE"}},
			}, waitFlags...),
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					if c.Bool("cascade") {
						return cl.DeleteClusterCascade(ctx, name)
					}
					return cl.DeleteCluster(ctx, name)
				}, untilDeleted)
			},
		},
		{
			Name:      "history",
			Usage:     "Show every change to a cluster: who, when, what",
			ArgsUsage: "NAME",
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return show(c, func(ctx context.Context, cl *api.Client) ([]api.HistoryEntry, error) {
					return cl.ClusterHistory(ctx, name)
				},
					historyTable)
			},
		},
		{
			Name:      "undelete",
			Usage:     "Bring back a deleted cluster, with its data, while it is restorable",
			ArgsUsage: "NAME",
			Flags:     waitFlags,
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.UndeleteCluster(ctx, name)
				}, untilReady)
			},
		},
		{
			Name:      "rotate-certificates",
			Usage:     "Reissue a cluster's TLS certificates (no restarts)",
			ArgsUsage: "NAME",
			Flags:     waitFlags,
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return run(c, func(ctx context.Context, cl *api.Client) (*api.Cluster, error) {
					return cl.RotateCertificates(ctx, name)
				}, untilReady)
			},
		},
	},
}

// run makes one call, then (with --wait) polls until done, and prints the cluster.
func run(c *cli.Context, call func(context.Context, *api.Client) (*api.Cluster, error), done func(*api.Cluster) (bool, error)) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	cluster, err := call(c.Context, cl)
	if err != nil {
		return err
	}
	if done != nil && c.Bool("wait") {
		if cluster, err = wait(c.Context, cl, cluster, c.Duration("timeout"), done, c.App.ErrWriter); err != nil {
			return err
		}
	}
	return render(c.App.Writer, format, cluster, clusterDetail(*cluster))
}

// pollInterval is how often --wait asks.
const pollInterval = 500 * time.Millisecond

// wait polls the cluster until done says so, printing each change of phase or progress.
func wait(ctx context.Context, cl *api.Client, c *api.Cluster, timeout time.Duration, done func(*api.Cluster) (bool, error), progress io.Writer) (*api.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		line := fmt.Sprintf("%s: %s, %d/%d ready, generation %d/%d", c.Name, c.Status.Phase,
			c.Status.ReadyBrokers, c.Status.Brokers, c.Status.ObservedGeneration, c.Generation)
		if c.Status.Reason != "" {
			line += " (" + c.Status.Reason + ")"
		}
		if line != last {
			fmt.Fprintln(progress, line)
			last = line
		}
		ok, err := done(c)
		if err != nil || ok {
			return c, err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return c, fmt.Errorf("timed out after %v waiting for %s (phase %s)", timeout, c.Name, c.Status.Phase)
			}
			return c, ctx.Err()
		case <-time.After(pollInterval):
		}
		next, err := cl.GetCluster(ctx, c.Name)
		if err != nil {
			if ctx.Err() != nil {
				continue // reported as a timeout above
			}
			return c, err
		}
		c = next
	}
}

func untilReady(c *api.Cluster) (bool, error) {
	if stalled, why := c.Stalled(); stalled {
		return false, fmt.Errorf("%s cannot converge: %s", c.Name, why)
	}
	if c.Status.Phase == api.PhaseDeleted || c.Status.Phase == api.PhaseDeleting {
		return false, fmt.Errorf("%s is %s", c.Name, c.Status.Phase)
	}
	return c.Status.Phase == api.PhaseReady && c.Status.ObservedGeneration >= c.Generation, nil
}

func untilDeleted(c *api.Cluster) (bool, error) {
	return c.Status.Phase == api.PhaseDeleted, nil
}
