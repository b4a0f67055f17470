package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/tests/netproxy"
)

// runPartition: a satellite's leaf is cut off from the hub by a TCP proxy while K changes
// land on the hub; the clock runs from the heal until the satellite's mirror holds the last
// of them (the mirror applies in order, so that is all of them). Then the hub itself is
// restarted and the clock runs from its return until a change made then is mirrored.
func runPartition(ctx context.Context, o options) ([]Result, error) {
	ks, rounds := []int{100, 1000, 10000}, 5
	if o.quick {
		ks, rounds = []int{100, 1000}, 2
	}
	var out []Result
	for _, k := range ks {
		for _, cut := range []cutKind{cutQuiet, cutMidStream, cutFresh} {
			// One cut is one sample of a bimodal figure (see RESULTS.md): several rounds,
			// and the median and the worst of them.
			var caught, linked samples
			for range rounds {
				c, l, err := partitionOnce(ctx, k, cut)
				if err != nil {
					return nil, fmt.Errorf("K=%d cut=%s: %w", k, cut, err)
				}
				caught.add(c)
				linked.add(l)
			}
			out = append(out, Result{Scenario: "partition", System: "orbit", Params: map[string]any{"missed_changes": k, "cut": string(cut), "rounds": rounds},
				Figures: map[string]float64{"catchup_p50_ms": caught.percentile(0.5), "catchup_max_ms": caught.percentile(1), "relink_p50_ms": linked.percentile(0.5)},
				Notes:   cutNotes[cut] + "; heal → the mirror holds the last change; median and worst of the rounds"})
		}
	}
	r, err := hubRestart(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub restart: %w", err)
	}
	return append(out, r), nil
}

func proxiedPair(ctx context.Context) (*natsPair, *netproxy.Proxy, error) {
	var proxy *netproxy.Proxy
	p, err := startPair(ctx, "sat", func(h *leafnode.Hub) string {
		var err error
		if proxy, err = netproxy.Start(strings.TrimPrefix(h.LeafURL(), "nats-leaf://")); err != nil {
			return "nats-leaf://127.0.0.1:1" // fails to connect; startPair times out
		}
		return "nats-leaf://" + proxy.Addr()
	})
	if err != nil {
		if p != nil {
			p.close()
		}
		return nil, nil, err
	}
	return p, proxy, nil
}

// putMany writes k distinct keys (k clusters changing) with a few writers, and returns the
// key and revision of the last write the hub stored.
func putMany(ctx context.Context, desired jetstream.KeyValue, k int, tag string) (string, uint64, error) {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lastKey  string
		lastRev  uint64
		firstErr error
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= k {
					return
				}
				key := fmt.Sprintf("sat.kafka.%s%d", tag, i)
				rev, err := desired.Put(ctx, key, []byte(tag))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if rev > lastRev {
					lastKey, lastRev = key, rev
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lastKey, lastRev, firstErr
}

// waitMirrored polls the satellite's mirror until key holds revision rev.
func waitMirrored(ctx context.Context, mirror jetstream.KeyValue, key string, rev uint64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if e, err := mirror.Get(ctx, key); err == nil && e.Revision() >= rev {
			return nil
		} else if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("%s@%d not mirrored after %v", key, rev, limit)
}

func waitLink(leaf *leafnode.Leaf, up bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for leaf.HubConnected() != up {
		if time.Now().After(deadline) {
			return fmt.Errorf("leaf link not %v after %v", map[bool]string{true: "up", false: "down"}[up], limit)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// cutKind is when the partition lands.
type cutKind string

const (
	// cutQuiet: both ends have seen the link go before anything changes.
	cutQuiet cutKind = "quiet"
	// cutMidStream: the link goes while K keys are changing, so some changes are lost in
	// flight and the mirror must notice the gap and re-create its consumer.
	cutMidStream cutKind = "mid_stream"
	// cutFresh: as cutMidStream, but within the server's retry threshold of the mirror
	// consumer's creation, which holds the re-creation back (RESULTS.md).
	cutFresh cutKind = "mid_stream_fresh"
)

var cutNotes = map[cutKind]string{
	cutQuiet:     "leaf cut by a TCP proxy, both ends see it, then K distinct keys change on the hub",
	cutMidStream: "leaf cut by a TCP proxy while K distinct keys are changing on the hub (some in flight at the cut); link up for more than 2 s before",
	cutFresh:     "as mid_stream, but the mirror's consumer was created less than 2 s before the cut",
}

// mirrorRetryThreshold is nats-server's sourceConsumerRetryThreshold: a mirror re-creates its
// consumer at most once in this long.
const mirrorRetryThreshold = 2 * time.Second

// partitionOnce cuts the link as cut says, changes k keys, heals, and returns the times from
// the heal until the mirror holds every change and until the leaf relinked.
func partitionOnce(ctx context.Context, k int, cut cutKind) (caught, linked time.Duration, err error) {
	p, proxy, err := proxiedPair(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer p.close()
	defer proxy.Close()
	desired, err := p.hubJS.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		return 0, 0, err
	}
	if err := p.warm(ctx, desired); err != nil {
		return 0, 0, err
	}
	var (
		key string
		rev uint64
	)
	if cut != cutFresh {
		// A satellite's mirror consumer was made long before a partition: let this one age
		// past the server's consumer retry threshold (the fresh case is the other one).
		time.Sleep(mirrorRetryThreshold + 500*time.Millisecond)
	}
	if cut != cutQuiet {
		// The cut lands while the writers run: what the hub pushed into the dying connection
		// is lost in flight and the mirror has to notice the gap.
		type put struct {
			key string
			rev uint64
			err error
		}
		done := make(chan put, 1)
		go func() {
			key, rev, err := putMany(ctx, desired, k, "k")
			done <- put{key, rev, err}
		}()
		time.Sleep(time.Duration(k/20) * 100 * time.Microsecond) // about a tenth of the writes
		proxy.Cut()
		r := <-done
		if r.err != nil {
			return 0, 0, r.err
		}
		key, rev = r.key, r.rev
		if err := waitLink(p.leaf, false, 10*time.Second); err != nil {
			return 0, 0, err
		}
	} else {
		proxy.Cut()
		if err := waitLink(p.leaf, false, 10*time.Second); err != nil {
			return 0, 0, err
		}
		// The hub too has seen the link go before anything changes (the mid-stream case is
		// the other one).
		for deadline := time.Now().Add(10 * time.Second); p.hub.Server().NumLeafNodes() > 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				return 0, 0, errors.New("the hub still holds the cut leaf connection")
			}
		}
		if key, rev, err = putMany(ctx, desired, k, "k"); err != nil {
			return 0, 0, err
		}
	}
	healed := time.Now()
	proxy.Heal()
	if err := waitLink(p.leaf, true, 30*time.Second); err != nil {
		return 0, 0, err
	}
	linked = time.Since(healed)
	if err := waitMirrored(ctx, p.mirror, key, rev, 2*time.Minute); err != nil {
		return 0, 0, err
	}
	caught = time.Since(healed)
	// Check the claim behind the clock: every missed key is there.
	ljs, _ := jetstream.New(p.leafNC)
	st, err := ljs.Stream(ctx, kv.StreamName(kv.BucketDesired))
	if err != nil {
		return 0, 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	if info.State.Msgs != uint64(k)+1 {
		return 0, 0, fmt.Errorf("the mirror holds %d keys, want %d", info.State.Msgs, k+1)
	}
	return caught, linked, nil
}

func hubRestart(ctx context.Context) (Result, error) {
	p, err := startPair(ctx, "sat", nil)
	if err != nil {
		if p != nil {
			p.close()
		}
		return Result{}, err
	}
	defer p.close()
	desired, err := p.hubJS.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		return Result{}, err
	}
	if err := p.warm(ctx, desired); err != nil {
		return Result{}, err
	}
	if err := p.restartHub(); err != nil {
		return Result{}, err
	}
	back := time.Now()
	if desired, err = p.hubJS.KeyValue(ctx, kv.BucketDesired); err != nil {
		return Result{}, err
	}
	key, rev, err := putMany(ctx, desired, 100, "r")
	if err != nil {
		return Result{}, err
	}
	if err := waitMirrored(ctx, p.mirror, key, rev, 2*time.Minute); err != nil {
		return Result{}, err
	}
	return Result{Scenario: "hub restart", System: "orbit", Params: map[string]any{"changes_after": 100},
		Figures: map[string]float64{"catchup_ms": ms(time.Since(back))},
		Notes:   "hub stopped and started on the same store; its return → the mirror holds changes made after it"}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
