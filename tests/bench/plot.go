package main

import (
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// plotLatency draws p50 and p99 propagation latency against the offered rate, for Orbit
// (API request → satellite mirror, and the raw NATS floor) and the Kubernetes-hub
// baseline, on a log scale, as a PNG.
func plotLatency(path string, results []Result) error {
	p := plot.New()
	p.Title.Text = "Propagation latency against rate"
	p.X.Label.Text = "changes per second (offered)"
	p.Y.Label.Text = "latency (ms, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = false // top right: only the floor runs at the highest rate
	series := []struct {
		scenario, system, figure, label string
		color                           color.Color
		dashed                          bool
	}{
		{"api→desired", "orbit", "p99_ms", "Orbit API → satellite, p99", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, false},
		{"api→desired", "orbit", "p50_ms", "Orbit API → satellite, p50", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, true},
		{"api→desired", "baseline", "p99_ms", "Kubernetes hub → agent, p99", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, false},
		{"api→desired", "baseline", "p50_ms", "Kubernetes hub → agent, p50", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, true},
		{"floor", "orbit", "p99_ms", "NATS floor (hub KV → leaf mirror), p99", color.Gray{Y: 0x80}, false},
	}
	for _, s := range series {
		var pts plotter.XYs
		for _, r := range results {
			rate, ok := r.Params["rate"].(float64)
			if r.Scenario != s.scenario || r.System != s.system || !ok || r.Figures[s.figure] <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: rate, Y: r.Figures[s.figure]})
		}
		if len(pts) == 0 {
			continue
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		line.Color, points.Color = s.color, s.color
		if s.dashed {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(line, points)
		p.Legend.Add(s.label, line, points)
	}
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
