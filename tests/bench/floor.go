package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
)

// natsPair is a hub and one satellite's leaf node with its filtered mirror, as Orbit runs
// them, without the rest of Orbit.
type natsPair struct {
	hubCfg leafnode.HubConfig
	mkp    nkeys.KeyPair
	hub    *leafnode.Hub
	hubNC  *nats.Conn
	hubJS  jetstream.JetStream
	leaf   *leafnode.Leaf
	leafNC *nats.Conn
	mirror jetstream.KeyValue
	dirs   []string
}

func startPair(ctx context.Context, satellite string, hubURL func(*leafnode.Hub) string) (*natsPair, error) {
	p := &natsPair{}
	dir := func() string { d, _ := os.MkdirTemp("", "orbit-bench-"); p.dirs = append(p.dirs, d); return d }
	mkp, _ := nkeys.CreateUser()
	mpub, _ := mkp.PublicKey()
	skp, _ := nkeys.CreateUser()
	spub, _ := skp.PublicKey()
	seed, _ := skp.Seed()
	leafPort, err := devstack.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	p.mkp, p.hubCfg = mkp, leafnode.HubConfig{StoreDir: dir(), LeafListen: leafPort, MothershipNKey: mpub,
		Satellites: []leafnode.SatelliteUser{{Name: satellite, NKey: spub}}}
	if err := p.startHub(); err != nil {
		return nil, err
	}
	hub := p.hub
	if err := kv.EnsureHub(ctx, p.hubJS, 1); err != nil {
		return nil, err
	}
	if _, err := p.hubJS.CreateOrUpdatePushConsumer(ctx, kv.StreamName(kv.BucketDesired), kv.DesiredConsumer(satellite)); err != nil {
		return nil, err
	}
	url := hub.LeafURL()
	if hubURL != nil {
		url = hubURL(hub)
	}
	leaf, err := leafnode.StartLeaf(leafnode.LeafConfig{Satellite: satellite, StoreDir: dir(), HubURLs: []string{url}, Seed: seed, ReconnectInterval: 100 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	p.leaf = leaf
	if p.leafNC, err = leaf.Connect(); err != nil {
		return nil, err
	}
	ljs, _ := jetstream.New(p.leafNC)
	for !leaf.HubConnected() {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := ljs.CreateOrUpdateStream(ctx, kv.DesiredMirror(satellite)); err != nil {
		return nil, err
	}
	if p.mirror, err = ljs.KeyValue(ctx, kv.BucketDesired); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *natsPair) startHub() error {
	hub, err := leafnode.StartHub(p.hubCfg)
	if err != nil {
		return err
	}
	p.hub = hub
	if p.hubNC, err = hub.Connect(p.mkp); err != nil {
		return err
	}
	p.hubJS, err = jetstream.New(p.hubNC)
	return err
}

// restartHub stops the hub and starts it again on the same store and port.
func (p *natsPair) restartHub() error {
	p.hubNC.Close()
	p.hub.Shutdown()
	return p.startHub()
}

// warm waits until the mirror carries a value put on the hub: the mirror's consumer is set
// up and flowing, so what is measured next is steady state.
func (p *natsPair) warm(ctx context.Context, desired jetstream.KeyValue) error {
	if _, err := desired.Put(ctx, "sat.kafka.warmup", []byte("warm")); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := p.mirror.Get(ctx, "sat.kafka.warmup"); err == nil {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("the mirror did not warm up")
}

func (p *natsPair) close() {
	if p.leafNC != nil {
		p.leafNC.Close()
	}
	if p.leaf != nil {
		p.leaf.Shutdown()
	}
	if p.hubNC != nil {
		p.hubNC.Close()
	}
	if p.hub != nil {
		p.hub.Shutdown()
	}
	for _, d := range p.dirs {
		os.RemoveAll(d)
	}
}

// runFloor: raw KV put on the hub → watch on the leaf's filtered mirror.
func runFloor(ctx context.Context, o options) ([]Result, error) {
	rates := []float64{100, 500, 2000}
	dur := 10 * time.Second
	if o.quick {
		rates, dur = []float64{500}, 2*time.Second
	}
	var out []Result
	for _, rate := range rates {
		lat, err := floorAt(ctx, rate, dur)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Scenario: "floor", System: "orbit", Params: map[string]any{"rate": rate, "seconds": dur.Seconds()},
			Figures: map[string]float64{"p50_ms": lat.percentile(0.5), "p99_ms": lat.percentile(0.99), "n": float64(lat.len())},
			Notes:   "hub KV put → watch on the satellite leaf's filtered mirror"})
	}
	return out, nil
}

func floorAt(ctx context.Context, rate float64, dur time.Duration) (*samples, error) {
	p, err := startPair(ctx, "sat", nil)
	if err != nil {
		return nil, err
	}
	defer p.close()
	desired, err := p.hubJS.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		return nil, err
	}
	if err := p.warm(ctx, desired); err != nil {
		return nil, err
	}
	w, err := p.mirror.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	lat := &samples{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			sent := int64(binary.BigEndian.Uint64(e.Value()))
			lat.add(time.Since(time.Unix(0, sent)))
		}
	}()
	wg := pace(rate, dur, func(i int) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
		_, _ = desired.Put(ctx, fmt.Sprintf("sat.kafka.c%d", i%1000), b[:])
	})
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	want := int(rate * dur.Seconds())
	for lat.len() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return lat, nil
}
