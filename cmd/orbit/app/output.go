package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/urfave/cli/v2"
)

// render writes v in the chosen format; table renders with table().
func render(w io.Writer, format string, v any, table func(*tabwriter.Writer)) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		table(tw)
		return tw.Flush()
	}
}

func clusterTable(clusters ...api.Cluster) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tID\tPRODUCT\tCKU\tREGION\tPHASE\tREADY\tGENERATION\tAGE\tREASON")
		for _, c := range clusters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d/%d\t%d/%d\t%s\t%s\n",
				c.Name, c.ID, c.Product, c.CKU, c.Region, c.Status.Phase,
				c.Status.ReadyBrokers, c.Status.Brokers, c.Status.ObservedGeneration, c.Generation,
				age(c.CreatedAt), c.Status.Reason)
		}
	}
}

// clusterDetail is clusterTable for one cluster, followed by what Kafka reports of it.
func clusterDetail(c api.Cluster) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		clusterTable(c)(tw)
		if k := c.Status.Kafka; k != nil {
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "PARTITIONS\tUNDER-REPLICATED\tOFFLINE\tBYTES ON DISK\tMETADATA VERSION")
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%s\n", k.Partitions, k.UnderReplicated, k.Offline, k.BytesOnDisk, cmp.Or(k.MetadataVersion, "-"))
		}
	}
}

func satelliteTable(sats []api.Satellite) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tREGION\tCLOUD\tNETWORKS\tCONNECTED\tCLUSTERS\tBROKERS\tUSED\tKUBERNETES\tLAST HEARTBEAT")
		for _, s := range sats {
			kube := "real"
			if s.Simulated {
				kube = "simulated"
			}
			used := fmt.Sprintf("%.0f%%", s.Utilization*100)
			if s.NearCapacity {
				used += " (near capacity)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%d\t%d\t%s\t%s\t%s ago\n", s.Name, s.Region, s.Cloud,
				strings.Join(s.Networks, ","), s.Connected, s.Clusters, s.Brokers, used, kube, age(s.HeartbeatAt))
		}
	}
}

func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func historyTable(entries []api.HistoryEntry) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "WHEN\tCLUSTER\tACTION\tBY\tCHANGE")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.ClusterID, e.Action, e.Actor, diff(e.Before, e.After))
		}
	}
}

// diff summarises what changed between two JSON states: "cku 2→4".
func diff(before, after json.RawMessage) string {
	var b, a map[string]any
	_ = json.Unmarshal(after, &a)
	if len(before) == 0 {
		return fmt.Sprintf("created %v, %v CKU, %v", a["product"], a["cku"], a["region"])
	}
	_ = json.Unmarshal(before, &b)
	var parts []string
	for _, k := range []string{"cku", "deletedAt", "tlsSerial"} {
		if fmt.Sprint(b[k]) != fmt.Sprint(a[k]) {
			parts = append(parts, fmt.Sprintf("%s %v→%v", k, orDash(b[k]), orDash(a[k])))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

// show is the common action: -o's format, a client, one call, its answer rendered.
func show[T any](c *cli.Context, call func(context.Context, *api.Client) (T, error), table func(T) func(*tabwriter.Writer)) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	v, err := call(c.Context, cl)
	if err != nil {
		return err
	}
	return render(c.App.Writer, format, v, table(v))
}
