// Package registry follows the satellites bucket for the mothership: what each satellite
// declares about itself (region, cloud, networks, capacity) and when it last said so. It
// only reads; each satellite writes its own key. The scheduler places on what it lists and
// the API shows it.
package registry

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
)

// Registry follows the satellites bucket: what each satellite declares about itself
// (region, cloud, networks, capacity) and when it last said so. It only reads.
type Registry struct {
	log *slog.Logger

	mu         sync.RWMutex
	satellites map[string]kv.Satellite
	changed    chan struct{} // a token whenever a registration appears or changes
	watcher    jetstream.KeyWatcher
}

// New returns an empty registry; Start loads it.
func New(log *slog.Logger) *Registry {
	return &Registry{log: log, satellites: map[string]kv.Satellite{}, changed: make(chan struct{}, 1)}
}

// Start loads every current registration.
func (r *Registry) Start(ctx context.Context, js jetstream.JetStream) error {
	b, err := js.KeyValue(ctx, kv.BucketSatellites)
	if err != nil {
		return err
	}
	w, err := b.WatchAll(ctx)
	if err != nil {
		return err
	}
	r.watcher = w
	for e := range w.Updates() {
		if e == nil {
			return nil // initial values loaded
		}
		r.apply(e)
	}
	return ctx.Err()
}

// Run follows updates until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	defer r.watcher.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-r.watcher.Updates():
			if !ok {
				return nil
			}
			if e != nil {
				r.apply(e)
			}
		}
	}
}

func (r *Registry) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		r.mu.Lock()
		delete(r.satellites, e.Key())
		r.mu.Unlock()
		return
	}
	s, err := kv.DecodeSatellite(e.Value())
	if err != nil || s.Name != e.Key() {
		r.log.Warn("ignoring invalid satellite registration", "key", e.Key(), "error", err)
		return
	}
	r.mu.Lock()
	old, had := r.satellites[s.Name]
	r.satellites[s.Name] = *s
	r.mu.Unlock()
	if !had || !sameDeclaration(old, *s) {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// sameDeclaration compares what a satellite declares, ignoring heartbeat times.
func sameDeclaration(a, b kv.Satellite) bool {
	return a.Region == b.Region && a.Cloud == b.Cloud && slices.Equal(a.Networks, b.Networks) &&
		a.Capacity == b.Capacity && a.Version == b.Version
}

// List returns every registration, sorted by name.
func (r *Registry) List() []kv.Satellite {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]kv.Satellite, 0, len(r.satellites))
	for _, s := range r.satellites {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b kv.Satellite) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Changed signals new or changed registrations.
func (r *Registry) Changed() <-chan struct{} { return r.changed }
