package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/frontend"
)

// apikeyCommand mints API keys against the database, the way satellites are onboarded: how
// a new installation gets its first operator key (the API mints every later one).
var apikeyCommand = &cli.Command{
	Name:  "apikey",
	Usage: "Mint API keys directly in the database (the first operator key of an installation)",
	Subcommands: []*cli.Command{{
		Name:  "create",
		Usage: "Create an API key and print it (shown once: it is stored hashed)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "role", Usage: "Role: operator, admin or viewer", Value: "operator", EnvVars: []string{"ORBIT_APIKEY_ROLE"}},
			&cli.StringFlag{Name: "tenant", Usage: "Tenant the key belongs to (created if new)", Value: "operators", EnvVars: []string{"ORBIT_APIKEY_TENANT"}},
			&cli.StringFlag{Name: "description", Usage: "What the key is for", Value: "created with mothership apikey create", EnvVars: []string{"ORBIT_APIKEY_DESCRIPTION"}},
			&cli.StringFlag{Name: "key-file", Usage: "Register the key this file holds (e.g. a Secret generated at install) instead of minting one; again is harmless, and nothing is printed", EnvVars: []string{"ORBIT_APIKEY_FILE"}},
		}, dbFlags...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return errors.New("apikey create takes no arguments")
			}
			store, err := openMigrated(c)
			if err != nil {
				return err
			}
			defer store.Close()
			key := frontend.NewAPIKey()
			if path := c.String("key-file"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					return fmt.Errorf("--key-file: %w", err)
				}
				key = strings.TrimSpace(string(b))
			}
			if err := frontend.EnsureAPIKey(c.Context, store, c.String("tenant"), c.String("role"), key, c.String("description")); err != nil {
				if c.String("key-file") != "" {
					return fmt.Errorf("--key-file %s: %w", c.String("key-file"), err)
				}
				return err
			}
			if c.String("key-file") != "" {
				fmt.Fprintf(c.App.Writer, "the %s key in %s is registered for tenant %s\n", c.String("role"), c.String("key-file"), c.String("tenant"))
				return nil
			}
			fmt.Fprintln(c.App.ErrWriter, "The key is shown once: keep it now (ORBIT_API_KEY).")
			fmt.Fprintln(c.App.Writer, key)
			return nil
		},
	}},
}
