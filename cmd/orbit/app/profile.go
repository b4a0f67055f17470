package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/mothership/api"
)

var profileCommand = &cli.Command{
	Name:  "profile",
	Usage: "Inspect and set product profiles (operators): version, disk and configuration per product and SKU",
	Subcommands: []*cli.Command{
		listCommand("List the current profiles", (*api.Client).ListProfiles, profileTable),
		{
			Name:      "set",
			Usage:     "Make a profile (YAML or JSON) the current one of a product and SKU: new clusters start at it, existing ones move to it in a rollout (one canary, then 10%, 50%, the rest)",
			ArgsUsage: "PRODUCT SKU",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "filename", Aliases: []string{"f"}, Usage: "Profile file (- for standard input)", Required: true, EnvVars: []string{"ORBIT_PROFILE_FILE"}},
				&cli.BoolFlag{Name: "all-at-once", Usage: "Roll it out to every cluster at once instead of in waves", EnvVars: []string{"ORBIT_ALL_AT_ONCE"}},
				&cli.DurationFlag{Name: "soak", Usage: "How long each changed cluster must stay Ready (default 2m)", EnvVars: []string{"ORBIT_SOAK"}},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return usageError{fmt.Errorf("profile set needs PRODUCT and SKU")}
				}
				format, err := outputFormat(c)
				if err != nil {
					return err
				}
				data, err := readFile(c.String("filename"))
				if err != nil {
					return err
				}
				js, err := yaml.YAMLToJSONStrict(data)
				if err != nil {
					return fmt.Errorf("%s: %w", c.String("filename"), err)
				}
				var spec api.ProfileSpec
				dec := json.NewDecoder(bytes.NewReader(js))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&spec); err != nil {
					return fmt.Errorf("%s: %w", c.String("filename"), err)
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				rollout := ""
				if c.Bool("all-at-once") {
					rollout = "all-at-once"
				}
				p, err := cl.SetProfileRollout(c.Context, c.Args().Get(0), c.Args().Get(1), spec, rollout, c.Duration("soak"))
				if err != nil {
					return err
				}
				return render(c.App.Writer, format, p, func(tw *tabwriter.Writer) {
					fmt.Fprintf(tw, "profile %s/%s is at revision %d; rollout %s\n", p.Product, p.SKU, p.Revision, p.Rollout)
				})
			},
		},
	},
}

func profileTable(profiles []api.Profile) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "PRODUCT\tSKU\tREVISION\tVERSION\tREPLICAS/CKU\tSTORAGE\tCONFIG")
		for _, p := range profiles {
			var cfg []string
			for k, v := range p.Spec.Config {
				cfg = append(cfg, k+"="+v)
			}
			sort.Strings(cfg)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%dGi\t%s\n", p.Product, p.SKU, p.Revision, p.Spec.Version, p.Spec.ReplicasPerCKU, p.Spec.StorageGiB, strings.Join(cfg, ","))
		}
	}
}
