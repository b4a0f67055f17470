package app

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/api"
)

var apikeyCommand = &cli.Command{
	Name:  "apikey",
	Usage: "Create, list and revoke API keys",
	Subcommands: []*cli.Command{
		{
			Name:  "create",
			Usage: "Create an API key (it is shown once)",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "role", Usage: "Role: admin, viewer or operator", Value: "viewer", EnvVars: []string{"ORBIT_APIKEY_ROLE"}},
				&cli.StringFlag{Name: "description", Usage: "What the key is for", EnvVars: []string{"ORBIT_APIKEY_DESCRIPTION"}},
				&cli.StringFlag{Name: "tenant", Usage: "Tenant (operators only; default: yours)", EnvVars: []string{"ORBIT_APIKEY_TENANT"}},
			},
			Action: func(c *cli.Context) error {
				format, err := outputFormat(c)
				if err != nil {
					return err
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				k, err := cl.CreateAPIKey(c.Context, api.APIKeyRequest{Role: c.String("role"), Description: c.String("description"), Tenant: c.String("tenant")})
				if err != nil {
					return err
				}
				if format == "table" {
					fmt.Fprintf(c.App.ErrWriter, "The key is shown once: keep it now.\n")
				}
				return render(c.App.Writer, format, k, apikeyTable(true, *k))
			},
		},
		{
			Name:  "list",
			Usage: "List your tenant's API keys",
			Action: func(c *cli.Context) error {
				return show(c, func(ctx context.Context, cl *api.Client) ([]api.APIKey, error) { return cl.ListAPIKeys(ctx) },
					func(keys []api.APIKey) func(*tabwriter.Writer) { return apikeyTable(false, keys...) })
			},
		},
		{
			Name:      "revoke",
			Usage:     "Revoke an API key",
			ArgsUsage: "ID",
			Action: func(c *cli.Context) error {
				id, err := oneName(c)
				if err != nil {
					return err
				}
				return show(c, func(ctx context.Context, cl *api.Client) (*api.APIKey, error) { return cl.RevokeAPIKey(ctx, id) },
					func(k *api.APIKey) func(*tabwriter.Writer) { return apikeyTable(false, *k) })
			},
		},
	},
}

func apikeyTable(withKey bool, keys ...api.APIKey) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		header := "ID\tTENANT\tROLE\tCREATED\tREVOKED\tDESCRIPTION"
		if withKey {
			header += "\tKEY"
		}
		fmt.Fprintln(tw, header)
		for _, k := range keys {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = age(*k.RevokedAt) + " ago"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s ago\t%s\t%s", k.ID, k.Tenant, k.Role, age(k.CreatedAt), revoked, k.Description)
			if withKey {
				line += "\t" + k.Key
			}
			fmt.Fprintln(tw, line)
		}
	}
}
