package app

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// clusterAPIKeyCommand manages a cluster's API keys: a Kafka cluster's SCRAM-SHA-512 users,
// a ksqlDB or Connect cluster's REST users (HTTP basic authentication over HTTPS).
var clusterAPIKeyCommand = &cli.Command{
	Name:  "api-key",
	Usage: "Create, list and revoke a cluster's API keys (Kafka: SASL/SCRAM users; ksqlDB and Connect: REST users)",
	Subcommands: []*cli.Command{
		{
			Name:      "create",
			Usage:     "Create an API key (its secret is shown once)",
			ArgsUsage: "CLUSTER",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "description", Usage: "What the key is for", EnvVars: []string{"ORBIT_KAFKA_KEY_DESCRIPTION"}},
			},
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				format, err := outputFormat(c)
				if err != nil {
					return err
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				k, err := cl.CreateKafkaAPIKey(c.Context, name, api.KafkaAPIKeyRequest{Description: c.String("description")})
				if err != nil {
					return err
				}
				if format == "table" {
					if k.Mechanism == kv.MechanismSCRAMSHA512 {
						fmt.Fprintf(c.App.ErrWriter, "The secret is shown once: keep it now. Use it with --kafka-key %s --kafka-secret … (or ORBIT_KAFKA_KEY, ORBIT_KAFKA_SECRET).\n", k.ID)
					} else {
						fmt.Fprintf(c.App.ErrWriter, "The secret is shown once: keep it now. The cluster's REST API takes it as HTTP basic authentication (user %s) over HTTPS, once its workers have restarted with it.\n", k.ID)
					}
				}
				return render(c.App.Writer, format, k, kafkaKeyTable(true, *k))
			},
		},
		{
			Name:      "list",
			Usage:     "List a cluster's API keys (never their secrets)",
			ArgsUsage: "CLUSTER",
			Action: func(c *cli.Context) error {
				name, err := oneName(c)
				if err != nil {
					return err
				}
				return show(c, func(ctx context.Context, cl *api.Client) ([]api.KafkaAPIKey, error) {
					return cl.ListKafkaAPIKeys(ctx, name)
				},
					func(keys []api.KafkaAPIKey) func(*tabwriter.Writer) { return kafkaKeyTable(false, keys...) })
			},
		},
		{
			Name:      "revoke",
			Usage:     "Revoke an API key: its satellite deletes the user from Kafka, or from the ksqlDB or Connect REST users",
			ArgsUsage: "CLUSTER ID",
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return fmt.Errorf("api-key revoke needs CLUSTER and ID")
				}
				name, id := c.Args().Get(0), c.Args().Get(1)
				return show(c, func(ctx context.Context, cl *api.Client) (*api.KafkaAPIKey, error) {
					return cl.RevokeKafkaAPIKey(ctx, name, id)
				},
					func(k *api.KafkaAPIKey) func(*tabwriter.Writer) { return kafkaKeyTable(false, *k) })
			},
		},
	},
}

func kafkaKeyTable(withSecret bool, keys ...api.KafkaAPIKey) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		header := "ID\tCLUSTER\tMECHANISM\tCREATED\tREVOKED\tDESCRIPTION"
		if withSecret {
			header += "\tSECRET"
		}
		fmt.Fprintln(tw, header)
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = age(*k.RevokedAt) + " ago"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s ago\t%s\t%s", k.ID, k.Cluster, k.Mechanism, age(k.CreatedAt), revoked, k.Description)
			if withSecret {
				line += "\t" + k.Secret
			}
			fmt.Fprintln(tw, line)
		}
	}
}
