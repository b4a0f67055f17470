package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/mothership/api"
)

// progressStates are the columns of a rollout's progress, in order.
var progressStates = api.TargetStates

var rolloutWaitFlags = []cli.Flag{
	&cli.BoolFlag{Name: "wait", Usage: "Wait until the rollout is complete, paused, aborted or superseded, showing progress per wave", EnvVars: []string{"ORBIT_WAIT"}},
	&cli.DurationFlag{Name: "timeout", Usage: "How long --wait waits", Value: time.Hour, EnvVars: []string{"ORBIT_WAIT_TIMEOUT"}},
}

var rolloutCommand = &cli.Command{
	Name:  "rollout",
	Usage: "Roll profile revisions out to clusters in health-gated waves (operators)",
	Subcommands: []*cli.Command{
		{
			Name:  "create",
			Usage: "Roll a product and SKU's profile revision (default: the current one) out; strategy and selector from a file",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "product", Usage: "Product", Value: "kafka", EnvVars: []string{"ORBIT_PRODUCT"}},
				&cli.StringFlag{Name: "sku", Usage: "SKU", Value: "dedicated", EnvVars: []string{"ORBIT_SKU"}},
				&cli.Int64Flag{Name: "revision", Usage: "Profile revision (default: the current one)", EnvVars: []string{"ORBIT_REVISION"}},
				&cli.StringFlag{Name: "filename", Aliases: []string{"f"}, Usage: "File (YAML or JSON) with strategy and selector, as in the API's rollout request", EnvVars: []string{"ORBIT_ROLLOUT_FILE"}},
				&cli.BoolFlag{Name: "all-at-once", Usage: "Every cluster in one wave (only when named)", EnvVars: []string{"ORBIT_ALL_AT_ONCE"}},
			}, rolloutWaitFlags...),
			Action: func(c *cli.Context) error {
				var req api.RolloutRequest
				if f := c.String("filename"); f != "" {
					data, err := readFile(f)
					if err != nil {
						return err
					}
					js, err := yaml.YAMLToJSONStrict(data)
					if err != nil {
						return fmt.Errorf("%s: %w", f, err)
					}
					dec := json.NewDecoder(strings.NewReader(string(js)))
					dec.DisallowUnknownFields()
					if err := dec.Decode(&req); err != nil {
						return fmt.Errorf("%s: %w", f, err)
					}
				}
				if req.Product == "" {
					req.Product = c.String("product")
				}
				if req.SKU == "" {
					req.SKU = c.String("sku")
				}
				if c.IsSet("revision") {
					req.Revision = c.Int64("revision")
				}
				if c.Bool("all-at-once") {
					if req.Strategy == nil {
						req.Strategy = &api.RolloutStrategy{}
					}
					req.Strategy.AllAtOnce, req.Strategy.Waves = true, nil
				}
				return rolloutCall(c, func(ctx context.Context, cl *api.Client) (*api.Rollout, error) { return cl.CreateRollout(ctx, req) })
			},
		},
		listCommand("List the rollouts", (*api.Client).ListRollouts, rolloutTable),
		{
			Name:      "get",
			Usage:     "Show a rollout: its waves, clusters and history",
			ArgsUsage: "ID",
			Flags:     rolloutWaitFlags,
			Action: func(c *cli.Context) error {
				id, err := oneArg(c, "rollout get needs a rollout ID")
				if err != nil {
					return err
				}
				return rolloutCall(c, func(ctx context.Context, cl *api.Client) (*api.Rollout, error) { return cl.GetRollout(ctx, id) })
			},
		},
		rolloutActionCommand("pause", "Stop starting clusters (the ones changing go on)"),
		rolloutActionCommand("resume", "Go on (after a pause, or after fixing what made it pause itself)"),
		rolloutActionCommand("abort", "Stop for good: clusters not started keep their revision"),
		rolloutActionCommand("rollback", "Roll the changed clusters back to their previous revision (a new rollout; refused for a bigger disk or once finalized)"),
		rolloutActionCommand("finalize", "Finalize a complete rollout (Kafka's metadata version): it can no longer be rolled back"),
		rolloutActionCommand("override-windows", "Start clusters outside their maintenance windows (an urgent fix; recorded)"),
	},
}

func rolloutActionCommand(action, usage string) *cli.Command {
	return &cli.Command{
		Name:      action,
		Usage:     usage,
		ArgsUsage: "ID",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "reason", Usage: "Why, for the history", EnvVars: []string{"ORBIT_REASON"}},
		}, rolloutWaitFlags...),
		Action: func(c *cli.Context) error {
			id, err := oneArg(c, "rollout "+action+" needs a rollout ID")
			if err != nil {
				return err
			}
			return rolloutCall(c, func(ctx context.Context, cl *api.Client) (*api.Rollout, error) {
				return cl.RolloutAct(ctx, id, action, c.String("reason"))
			})
		},
	}
}

func oneArg(c *cli.Context, msg string) (string, error) {
	if c.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s", msg)}
	}
	return c.Args().First(), nil
}

// rolloutCall runs call and shows the rollout; with --wait, it shows each change of the
// progress until the rollout stops moving.
func rolloutCall(c *cli.Context, call func(context.Context, *api.Client) (*api.Rollout, error)) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	ro, err := call(c.Context, cl)
	if err != nil {
		return err
	}
	if !c.Bool("wait") {
		return render(c.App.Writer, format, ro, rolloutDetail(ro))
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	last := ""
	for {
		line := progressLine(ro)
		if line != last && format == "table" {
			fmt.Fprintf(c.App.Writer, "%s %s\n", time.Now().UTC().Format("15:04:05"), line)
			last = line
		}
		switch ro.State {
		case api.RolloutComplete, api.RolloutPaused, api.RolloutAborted, api.RolloutSuperseded:
			if format != "table" {
				return render(c.App.Writer, format, ro, nil)
			}
			if ro.Reason != "" {
				fmt.Fprintf(c.App.Writer, "rollout %s %s: %s\n", ro.ID, ro.State, ro.Reason)
			} else {
				fmt.Fprintf(c.App.Writer, "rollout %s %s\n", ro.ID, ro.State)
			}
			if ro.State == api.RolloutPaused {
				return fmt.Errorf("rollout %s paused", ro.ID)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rollout %s still %s after %s", ro.ID, ro.State, c.Duration("timeout"))
		case <-time.After(500 * time.Millisecond):
		}
		if ro, err = cl.GetRollout(ctx, ro.ID); err != nil {
			return err
		}
	}
}

// progressLine is the rollout's state and each wave's counts.
func progressLine(ro *api.Rollout) string {
	var waves []string
	for _, w := range ro.Progress {
		var parts []string
		for _, s := range progressStates {
			if n := w.Counts[s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		waves = append(waves, fmt.Sprintf("wave %d: %s", w.Wave+1, strings.Join(parts, ", ")))
	}
	return fmt.Sprintf("%s [%s]", ro.State, strings.Join(waves, " | "))
}

func rolloutTable(ros []api.Rollout) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "ID\tKIND\tPROFILE\tREVISION\tSTATE\tWAVE\tCREATED BY\tREASON")
		for _, ro := range ros {
			fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%d\t%s\t%d/%d\t%s\t%s\n", ro.ID, ro.Kind, ro.Product, ro.SKU, ro.Revision, ro.State,
				min(ro.Wave+1, ro.Waves), ro.Waves, ro.CreatedBy, ro.Reason)
		}
	}
}

func rolloutDetail(ro *api.Rollout) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "rollout %s (%s of %s/%s to revision %d): %s", ro.ID, ro.Kind, ro.Product, ro.SKU, ro.Revision, ro.State)
		if ro.Reason != "" {
			fmt.Fprintf(tw, ": %s", ro.Reason)
		}
		fmt.Fprintln(tw)
		switch {
		case ro.Finalized && ro.MetadataVersion != "":
			fmt.Fprintf(tw, "finalized: metadata version %s on %d of %d clusters\n", ro.MetadataVersion, ro.FinalizedClusters, countDone(ro))
		case ro.Finalized:
			fmt.Fprintln(tw, "finalized")
		}
		fmt.Fprintln(tw, progressLine(ro))
		if len(ro.Targets) > 0 {
			fmt.Fprintln(tw, "WAVE\tCLUSTER\tSATELLITE\tFROM\tSTATE\tMETADATA VERSION\tREASON")
			for _, t := range ro.Targets {
				mv := t.MetadataVersion
				if ro.Finalized && ro.MetadataVersion != "" && t.State == api.TargetDone && !t.Finalized {
					mv = cmp.Or(mv, "-") + " (finalizing)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", t.Wave+1, t.Cluster, t.Satellite, t.FromRevision, t.State, cmp.Or(mv, "-"), t.Reason)
			}
		}
		if len(ro.History) > 0 {
			fmt.Fprintln(tw, "AT\tACTOR\tACTION\tDETAIL")
			for _, h := range ro.History {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.At.UTC().Format(time.RFC3339), h.Actor, h.Action, h.Detail)
			}
		}
	}
}

// countDone is how many of a rollout's clusters it changed (those a finalize reaches).
func countDone(ro *api.Rollout) int {
	n := 0
	for _, w := range ro.Progress {
		n += w.Counts[api.TargetDone]
	}
	return n
}

var windowCommand = &cli.Command{
	Name:  "window",
	Usage: "Maintenance windows: when rollouts may start changing clusters (UTC)",
	Subcommands: []*cli.Command{
		listCommand("List the maintenance windows", (*api.Client).ListWindows, windowTable),
		{
			Name:      "set",
			Usage:     "Set the windows of a scope: cluster:NAME (tenant admins, dedicated clusters), satellite:NAME or region:NAME (operators)",
			ArgsUsage: "SCOPE",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "weekly", Usage: "A weekly window DAY@HH:MM/DURATION, e.g. sat@02:00/4h (repeatable)", EnvVars: []string{"ORBIT_WINDOW_WEEKLY"}},
				&cli.StringSliceFlag{Name: "exclude", Usage: "No changes FROM/TO (RFC 3339), e.g. 2026-12-20T00:00:00Z/2027-01-04T00:00:00Z (repeatable)", EnvVars: []string{"ORBIT_WINDOW_EXCLUDE"}},
			},
			Action: func(c *cli.Context) error {
				scope, err := oneArg(c, "window set needs a SCOPE")
				if err != nil {
					return err
				}
				w := api.MaintenanceWindow{Scope: scope}
				for _, s := range c.StringSlice("weekly") {
					day, rest, ok1 := strings.Cut(s, "@")
					start, dur, ok2 := strings.Cut(rest, "/")
					d, err := time.ParseDuration(dur)
					if !ok1 || !ok2 || err != nil {
						return usageError{fmt.Errorf("--weekly %q: want DAY@HH:MM/DURATION, e.g. sat@02:00/4h", s)}
					}
					w.Weekly = append(w.Weekly, api.WeeklyWindow{Day: day, Start: start, Duration: api.Duration(d)})
				}
				for _, s := range c.StringSlice("exclude") {
					from, to, ok := strings.Cut(s, "/")
					f, err1 := time.Parse(time.RFC3339, from)
					t, err2 := time.Parse(time.RFC3339, to)
					if !ok || err1 != nil || err2 != nil {
						return usageError{fmt.Errorf("--exclude %q: want FROM/TO in RFC 3339", s)}
					}
					w.Exclusions = append(w.Exclusions, api.Exclusion{From: f, To: t})
				}
				return show(c, func(ctx context.Context, cl *api.Client) ([]api.MaintenanceWindow, error) {
					out, err := cl.SetWindow(ctx, w)
					if err != nil {
						return nil, err
					}
					return []api.MaintenanceWindow{*out}, nil
				}, windowTable)
			},
		},
		{
			Name:      "delete",
			Usage:     "Remove the windows of a scope",
			ArgsUsage: "SCOPE",
			Action: func(c *cli.Context) error {
				scope, err := oneArg(c, "window delete needs a SCOPE")
				if err != nil {
					return err
				}
				cl, err := client(c)
				if err != nil {
					return err
				}
				return cl.DeleteWindow(c.Context, scope)
			},
		},
	},
}

func windowTable(ws []api.MaintenanceWindow) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "SCOPE\tWEEKLY\tEXCLUSIONS\tSET BY")
		for _, w := range ws {
			var weekly, excl []string
			for _, ww := range w.Weekly {
				weekly = append(weekly, fmt.Sprintf("%s@%s/%s", ww.Day, ww.Start, time.Duration(ww.Duration)))
			}
			for _, e := range w.Exclusions {
				excl = append(excl, e.From.UTC().Format(time.RFC3339)+"/"+e.To.UTC().Format(time.RFC3339))
			}
			sort.Strings(weekly)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", w.Scope, orDash(strings.Join(weekly, ",")), orDash(strings.Join(excl, ",")), w.UpdatedBy)
		}
	}
}

func init() {
	clusterCommand.Subcommands = append(clusterCommand.Subcommands, clusterLabelCommand, clusterPinCommand)
}

// clusterLabelCommand and clusterPinCommand are subcommands of cluster (operators; they
// name physical clusters).
var clusterLabelCommand = &cli.Command{
	Name:      "label",
	Usage:     "Set labels on a physical cluster for rollout selectors (operators): KEY=VALUE, KEY- removes",
	ArgsUsage: "PHYSICAL-CLUSTER KEY=VALUE|KEY- ...",
	Action: func(c *cli.Context) error {
		if c.NArg() < 2 {
			return usageError{fmt.Errorf("cluster label needs a physical cluster and at least one KEY=VALUE")}
		}
		labels := map[string]string{}
		for _, a := range c.Args().Slice()[1:] {
			if k, ok := strings.CutSuffix(a, "-"); ok && !strings.Contains(a, "=") {
				labels[k] = ""
				continue
			}
			k, v, ok := strings.Cut(a, "=")
			if !ok || v == "" {
				return usageError{fmt.Errorf("label %q: want KEY=VALUE or KEY-", a)}
			}
			labels[k] = v
		}
		cl, err := client(c)
		if err != nil {
			return err
		}
		return cl.LabelCluster(c.Context, c.Args().First(), labels)
	},
}

var clusterPinCommand = &cli.Command{
	Name:      "pin",
	Usage:     "Pin a physical cluster to the revision it runs: rollouts skip it and list it (operators)",
	ArgsUsage: "PHYSICAL-CLUSTER",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "unpin", Usage: "Remove the pin", EnvVars: []string{"ORBIT_UNPIN"}},
	},
	Action: func(c *cli.Context) error {
		id, err := oneArg(c, "cluster pin needs a physical cluster")
		if err != nil {
			return err
		}
		cl, err := client(c)
		if err != nil {
			return err
		}
		return cl.PinCluster(c.Context, id, !c.Bool("unpin"))
	},
}
