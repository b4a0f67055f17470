package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// runThroughput: as many resize requests as W concurrent clients get answered, for a fixed
// time, on SQLite and (with -postgres) PostgreSQL; the rate is the number of changes the
// satellite's mirror received, over the time from the first request to the last arrival.
func runThroughput(ctx context.Context, o options) ([]Result, error) {
	engines := []string{"sqlite"}
	if o.postgres != "" {
		engines = append(engines, "postgres")
	}
	dur, clusters, workers := 15*time.Second, 200, 64
	if o.quick {
		dur, clusters, workers = 3*time.Second, 50, 32
	}
	var out []Result
	for _, engine := range engines {
		r, err := throughputOn(ctx, o, engine, dur, clusters, workers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", engine, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func throughputOn(ctx context.Context, o options, engine string, dur time.Duration, clusters, workers int) (Result, error) {
	e, err := startOrbit(ctx, o, engine, true)
	if err != nil {
		return Result{}, err
	}
	defer e.close()
	cs, err := e.createPlaced(ctx, "tp", clusters)
	if err != nil {
		return Result{}, err
	}
	tr := newTracker()
	var lastSeen atomic.Int64
	e.setOnDesired(func(p *kv.PSC, at time.Time) {
		tr.seen(p, at)
		lastSeen.Store(at.UnixNano())
	})
	defer e.setOnDesired(nil)
	l := newLoad(len(cs), func(i int) string { return physicalID(cs[i]) }, func(i, cku int) error {
		_, err := e.client.UpdateCluster(ctx, cs[i].Name, api.ClusterUpdate{CKU: &cku})
		return err
	})
	start := time.Now()
	sent, failed, ran := l.closed(tr, workers, dur)
	return Result{Scenario: "throughput", System: "orbit",
		Params:  map[string]any{"db": engine, "clients": workers, "clusters": clusters, "seconds": dur.Seconds()},
		Figures: throughputFigures(tr, sent, failed, ran, start, lastSeen.Load()),
		Notes:   "closed loop of PATCH /v1/clusters/{name}; a change counts when the satellite's mirror holds it"}, nil
}
