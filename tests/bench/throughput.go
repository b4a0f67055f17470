package main

import (
	"context"
	"fmt"
	"sync"
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
	var (
		sent, failed atomic.Int64
		wg           sync.WaitGroup
		seq          = make([]int, len(cs))
	)
	start := time.Now()
	stop := start.Add(dur)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker owns the clusters w, w+workers, ...: one request per cluster at a
			// time, so the state a cluster last asked for is well defined.
			var owned []int
			for i := w; i < len(cs); i += workers {
				owned = append(owned, i)
			}
			for n := 0; len(owned) > 0 && time.Now().Before(stop); n++ {
				i := owned[n%len(owned)]
				c := cs[i]
				seq[i]++
				cku := 1 + seq[i]%31
				tr.sent(physicalID(c), cku, time.Now())
				if _, err := e.client.UpdateCluster(ctx, c.Name, api.ClusterUpdate{CKU: &cku}); err != nil {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	answered := time.Since(start)
	deadline := time.Now().Add(60 * time.Second)
	for tr.lat.len() < int(sent.Load()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	served := tr.lat.len()
	elapsed := time.Duration(lastSeen.Load() - start.UnixNano())
	return Result{Scenario: "throughput", System: "orbit",
		Params: map[string]any{"db": engine, "clients": workers, "clusters": clusters, "seconds": dur.Seconds()},
		Figures: map[string]float64{
			"changes_per_s": float64(served) / elapsed.Seconds(), "api_per_s": float64(sent.Load()) / answered.Seconds(),
			"served": float64(served), "sent": float64(sent.Load()), "errors": float64(failed.Load()),
			"p99_ms": tr.lat.percentile(0.99),
		},
		Notes: "closed loop of PATCH /v1/clusters/{name}; a change counts when the satellite's mirror holds it"}, nil
}
