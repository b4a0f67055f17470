// Command bench measures Orbit, and a Kubernetes-hub baseline, on this machine: propagation
// latency, throughput, fleet scale and partition catch-up. It prints a table and writes the
// figures as JSON (and, with -plot, a PNG of latency against rate). See RESULTS.md.
//
//	go run ./tests/bench                      # everything, full size
//	go run ./tests/bench -quick               # everything, small (minutes)
//	go run ./tests/bench -only floor,api      # some scenarios
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one measured figure set.
type Result struct {
	Scenario string             `json:"scenario"`
	System   string             `json:"system"` // orbit or baseline
	Params   map[string]any     `json:"params,omitempty"`
	Figures  map[string]float64 `json:"figures"`
	Notes    string             `json:"notes,omitempty"`
}

type options struct {
	quick    bool
	postgres string
	plot     string
	log      *slog.Logger
}

var scenarios = []struct {
	name string
	run  func(ctx context.Context, o options) ([]Result, error)
}{
	{"floor", runFloor},
	{"api", runAPI},
	{"throughput", runThroughput},
	{"partition", runPartition},
	{"fleet", runFleet},
	{"baseline", runBaseline},
	{"rollout", runRollout},
}

func main() {
	var (
		only     = flag.String("only", "", "comma-separated scenarios (default: all): floor, api, throughput, partition, fleet, baseline, rollout")
		quick    = flag.Bool("quick", false, "small sizes, for a smoke run")
		out      = flag.String("json", "tests/bench/results.json", "where to write the figures")
		plot     = flag.String("plot", "", "write a PNG of latency against rate here")
		postgres = flag.String("postgres", os.Getenv("ORBIT_TEST_POSTGRES"), "PostgreSQL server URL for the PostgreSQL runs (empty: skip them)")
		verbose  = flag.Bool("v", false, "log what the parts do")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
		replot   = flag.String("replot", "", "run nothing: print the table of this results file and, with -plot, draw it")
	)
	flag.Parse()
	if *replot != "" {
		if err := replotFile(*replot, *plot); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := options{quick: *quick, postgres: *postgres, plot: *plot, log: slog.New(slog.DiscardHandler)}
	if *verbose {
		o.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	var results []Result
	for _, s := range scenarios {
		if *only != "" && !strings.Contains(","+*only+",", ","+s.name+",") {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s...\n", s.name)
		start := time.Now()
		rs, err := s.run(ctx, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", s.name, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: %s took %v\n", s.name, time.Since(start).Round(time.Second))
		results = append(results, rs...)
	}
	results = append(results, ratios(results)...)
	printTable(results)
	doc := map[string]any{
		"date": time.Now().UTC().Format(time.RFC3339), "go": runtime.Version(), "cpus": runtime.NumCPU(),
		"quick": *quick, "results": results,
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *plot != "" {
		if err := plotLatency(*plot, results); err != nil {
			fmt.Fprintln(os.Stderr, "bench: plot:", err)
			os.Exit(1)
		}
	}
}

// replotFile prints the table of a results file written by an earlier run and, when plot is
// set, draws its PNG.
func replotFile(path, plot string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc struct {
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	printTable(doc.Results)
	if plot == "" {
		return nil
	}
	return plotLatency(plot, doc.Results)
}

func printTable(results []Result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tSYSTEM\tPARAMS\tFIGURES")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Scenario, r.System, kvString(r.Params), figString(r.Figures))
	}
	tw.Flush()
}

func kvString(m map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func figString(m map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// ratios compares Orbit with the baseline where both ran the same workload: how many times
// lower Orbit's latency is at each rate, and how many times higher its throughput (above 1
// favours Orbit).
func ratios(results []Result) []Result {
	find := func(scenario, system string, rate any) *Result {
		for i, r := range results {
			if r.Scenario == scenario && r.System == system && (rate == nil || r.Params["rate"] == rate) {
				return &results[i]
			}
		}
		return nil
	}
	var out []Result
	for _, b := range results {
		if b.System != "baseline" || b.Scenario != "api→desired" {
			continue
		}
		if o := find("api→desired", "orbit", b.Params["rate"]); o != nil && o.Figures["p99_ms"] > 0 && o.Figures["p50_ms"] > 0 {
			out = append(out, Result{Scenario: "api→desired", System: "baseline÷orbit", Params: map[string]any{"rate": b.Params["rate"]},
				Figures: map[string]float64{"p99_x": b.Figures["p99_ms"] / o.Figures["p99_ms"], "p50_x": b.Figures["p50_ms"] / o.Figures["p50_ms"]},
				Notes:   "how many times lower Orbit's latency is"})
		}
	}
	if b, o := find("throughput", "baseline", nil), find("throughput", "orbit", nil); b != nil && o != nil && b.Figures["changes_per_s"] > 0 {
		out = append(out, Result{Scenario: "throughput", System: "orbit÷baseline", Params: map[string]any{"db": o.Params["db"]},
			Figures: map[string]float64{"changes_x": o.Figures["changes_per_s"] / b.Figures["changes_per_s"]},
			Notes:   "how many times more changes per second Orbit sustains"})
	}
	return out
}
