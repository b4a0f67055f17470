package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// load drives resizes of n clusters against one system (Orbit or the baseline) and
// matches what the system's satellite or agent sees against what was asked. send makes
// cluster i's request for cku; id names cluster i the way the observer reports it.
type load struct {
	n    int
	id   func(i int) string
	send func(i, cku int) error

	mu  sync.Mutex
	seq []int
}

func newLoad(n int, id func(int) string, send func(i, cku int) error) *load {
	return &load{n: n, id: id, send: send, seq: make([]int, n)}
}

// next is the CKU count cluster i asks for next: never the one it just asked for.
func (l *load) next(i int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq[i]++
	return 1 + l.seq[i]%31
}

func (l *load) request(tr *tracker, i int) error {
	cku := l.next(i)
	tr.sent(l.id(i), cku, time.Now())
	return l.send(i, cku)
}

// open offers rate requests per second for dur (an open loop: a slow system does not slow
// the offered load), round robin over the clusters, and waits until every one is served or
// a grace period passes. It returns the number of requests and of failed ones.
func (l *load) open(tr *tracker, rate float64, dur time.Duration) (sent, failed int) {
	var errs atomic.Int64
	pace(rate, dur, func(i int) {
		if l.request(tr, i%l.n) != nil {
			errs.Add(1)
		}
	}).Wait()
	sent = int(rate * dur.Seconds())
	tr.waitServed(sent, 30*time.Second)
	return sent, int(errs.Load())
}

// closed runs workers clients for dur, each owning the clusters w, w+workers, ... (one
// request per cluster at a time), then waits until every answered request is served. It
// returns the answered and failed requests and how long the clients ran.
func (l *load) closed(tr *tracker, workers int, dur time.Duration) (sent, failed int64, ran time.Duration) {
	var wg sync.WaitGroup
	var ok, bad atomic.Int64
	start := time.Now()
	stop := start.Add(dur)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var owned []int
			for i := w; i < l.n; i += workers {
				owned = append(owned, i)
			}
			for k := 0; len(owned) > 0 && time.Now().Before(stop); k++ {
				if l.request(tr, owned[k%len(owned)]) != nil {
					bad.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	ran = time.Since(start)
	tr.waitServed(int(ok.Load()), 60*time.Second)
	return ok.Load(), bad.Load(), ran
}
