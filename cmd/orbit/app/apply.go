package app

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/api"
)

// maxApplyFile bounds what apply reads; the server has the same limit.
const maxApplyFile = 1 << 20

var applyCommand = &cli.Command{
	Name:  "apply",
	Usage: "Create or resize the clusters described in a YAML file (all or nothing)",
	Description: `The file holds one or more documents separated by ---, each:

   apiVersion: orbit.dev/v1
   kind: Cluster
   metadata:
     name: demo
   spec:
     product: kafka
     cku: 1
     region: us-west-2

Applying the same file again changes nothing.`,
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "filename", Aliases: []string{"f"}, Usage: "File to apply (- for standard input)", Required: true, EnvVars: []string{"ORBIT_APPLY_FILE"}},
	}, waitFlags...),
	Action: func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usageError{fmt.Errorf("apply takes no arguments (got %q); use -f FILE", c.Args().Slice())}
		}
		format, err := outputFormat(c)
		if err != nil {
			return err
		}
		data, err := readFile(c.String("filename"))
		if err != nil {
			return err
		}
		cl, err := client(c)
		if err != nil {
			return err
		}
		results, err := cl.Apply(c.Context, data)
		if err != nil {
			return err
		}
		if c.Bool("wait") {
			for i := range results {
				if results[i].Action == api.ActionUnchanged && results[i].Cluster.Status.Phase == api.PhaseReady {
					continue
				}
				next, err := wait(c.Context, cl, &results[i].Cluster, c.Duration("timeout"), untilReady, c.App.ErrWriter)
				if err != nil {
					return err
				}
				results[i].Cluster = *next
			}
		}
		return render(c.App.Writer, format, results, func(tw *tabwriter.Writer) {
			for _, r := range results {
				fmt.Fprintf(tw, "cluster/%s\t%s\n", r.Name, r.Action)
			}
		})
	},
}

func readFile(name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxApplyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxApplyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxApplyFile)
	}
	return data, nil
}
