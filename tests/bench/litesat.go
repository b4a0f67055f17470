package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/satellite"
)

// liteSat is the NATS half of a satellite: the leaf node, the filtered mirror of its
// desired keys, a watch on it and the heartbeat, without Kubernetes. The scenarios that
// measure the path to the satellite (and the fleet) use it so that two cores are not spent
// simulating Kubernetes; the full satellite is measured in the ready path.
type liteSat struct {
	name   string
	leaf   *leafnode.Leaf
	nc     *nats.Conn
	mirror jetstream.KeyValue
	cancel context.CancelFunc
	done   chan struct{}
}

// startLiteSat starts a lite satellite; onDesired (if set) sees every desired value as it
// reaches the mirror, and synced is closed once the mirror's initial contents are read.
func startLiteSat(ctx context.Context, name, hubURL string, seed []byte, dir string, onDesired func(jetstream.KeyValueEntry, time.Time)) (*liteSat, <-chan struct{}, error) {
	leaf, err := leafnode.StartLeaf(leafnode.LeafConfig{Satellite: name, StoreDir: dir, HubURLs: []string{hubURL}, Seed: seed, ReconnectInterval: 250 * time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	s := &liteSat{name: name, leaf: leaf, done: make(chan struct{})}
	fail := func(err error) (*liteSat, <-chan struct{}, error) {
		s.stop()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if s.nc, err = leaf.Connect(); err != nil {
		return fail(err)
	}
	js, _ := jetstream.New(s.nc)
	deadline := time.Now().Add(30 * time.Second)
	for !leaf.HubConnected() {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("no link to the hub"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// As the satellite does: an empty store first rewinds its consumer on the hub.
	if _, err := js.Stream(ctx, kv.StreamName(kv.BucketDesired)); errors.Is(err, jetstream.ErrStreamNotFound) {
		if err := satellite.RewindDesiredConsumer(ctx, s.nc, name, slog.New(slog.DiscardHandler)); err != nil {
			return fail(err)
		}
	}
	if _, err := js.CreateOrUpdateStream(ctx, kv.DesiredMirror(name)); err != nil {
		return fail(err)
	}
	if s.mirror, err = js.KeyValue(ctx, kv.BucketDesired); err != nil {
		return fail(err)
	}
	w, err := s.mirror.WatchAll(ctx)
	if err != nil {
		return fail(err)
	}
	hubJS := js // the put subjects of the hub's buckets are routed to the hub
	synced := make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		defer w.Stop()
		beat := time.NewTicker(10 * time.Second)
		defer beat.Stop()
		s.heartbeat(rctx, hubJS)
		initial := true
		for {
			select {
			case <-rctx.Done():
				return
			case <-beat.C:
				s.heartbeat(rctx, hubJS)
			case e := <-w.Updates():
				if e == nil {
					if initial {
						initial = false
						close(synced)
					}
					continue
				}
				if onDesired != nil {
					onDesired(e, time.Now())
				}
			}
		}
	}()
	return s, synced, nil
}

func (s *liteSat) heartbeat(ctx context.Context, js jetstream.JetStream) {
	now := time.Now().UTC()
	data, err := kv.Encode(&kv.Satellite{SchemaVersion: kv.SchemaVersion, Name: s.name, Region: s.name, Cloud: "aws",
		Networks: []string{"public"}, Capacity: kv.Capacity{Clusters: 100_000, Brokers: 1_000_000}, Version: "bench",
		Simulated: true, StartedAt: now, HeartbeatAt: now})
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = js.Publish(pctx, kv.HubPutSubject(kv.BucketSatellites, s.name), data)
}

func (s *liteSat) stop() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	if s.nc != nil {
		s.nc.Close()
	}
	s.leaf.Shutdown()
}
