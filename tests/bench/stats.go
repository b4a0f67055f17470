package main

import (
	"slices"
	"sort"
	"sync"
	"time"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// samples collects durations from many goroutines.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// percentile in milliseconds.
func (s *samples) percentile(p float64) float64 {
	s.mu.Lock()
	d := slices.Clone(s.d)
	s.mu.Unlock()
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p * float64(len(d)-1))
	return float64(d[i].Microseconds()) / 1000
}

// pace calls fn at rate per second for total, each call in its own goroutine (an open
// loop: a slow system does not slow the offered load).
func pace(rate float64, total time.Duration, fn func(i int)) *sync.WaitGroup {
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= total {
			break
		}
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	return &wg
}
