package satellite

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/orbitcp/orbit/kv"
)

// publisher sends statuses to the hub's actual bucket. It keeps only the latest status of
// each key (a newer one replaces an unsent one), skips a status that says nothing new, and
// keeps retrying while the hub is unreachable: the data plane never waits on it.
type publisher struct {
	js  jetstream.JetStream
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]*kv.Status
	sent    map[string]string     // fingerprint of the last status the hub acknowledged
	acked   map[string]*kv.Status // that status, to send again to a hub that lost it
	wake    chan struct{}
}

func newPublisher(js jetstream.JetStream, log *slog.Logger) *publisher {
	return &publisher{js: js, log: log, pending: map[string]*kv.Status{}, sent: map[string]string{}, acked: map[string]*kv.Status{}, wake: make(chan struct{}, 1)}
}

// fingerprint is a status without its timestamps.
func fingerprint(st *kv.Status) string {
	c := *st
	c.UpdatedAt = time.Time{}
	c.Conditions = append([]kv.Condition(nil), st.Conditions...)
	for i := range c.Conditions {
		c.Conditions[i].LastTransitionTime = time.Time{}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// Set queues st unless the hub already has the same.
func (p *publisher) Set(st *kv.Status) {
	key := st.Key().String()
	fp := fingerprint(st)
	p.mu.Lock()
	if p.sent[key] == fp {
		delete(p.pending, key)
		p.mu.Unlock()
		return
	}
	p.pending[key] = st
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run flushes until ctx ends.
func (p *publisher) Run(ctx context.Context) error {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-retry.C:
		}
		p.flush(ctx)
	}
}

func (p *publisher) flush(ctx context.Context) {
	p.mu.Lock()
	batch := make(map[string]*kv.Status, len(p.pending))
	for k, st := range p.pending {
		batch[k] = st
	}
	p.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	type inflight struct {
		st  *kv.Status
		fut jetstream.PubAckFuture
	}
	var sent []inflight
	for key, st := range batch {
		data, err := kv.Encode(st)
		if err != nil {
			p.log.Error("dropping a status that does not validate", "key", key, "error", err)
			p.forget(key, st)
			continue
		}
		fut, err := p.js.PublishAsync(kv.HubPutSubject(kv.BucketActual, key), data)
		if err != nil {
			p.log.Debug("status not sent, will retry", "key", key, "error", err)
			continue
		}
		sent = append(sent, inflight{st: st, fut: fut})
	}
	timeout := time.After(5 * time.Second)
	for _, s := range sent {
		select {
		case <-s.fut.Ok():
			p.done(s.st)
		case err := <-s.fut.Err():
			p.log.Debug("status not acknowledged, will retry", "key", s.st.Key().String(), "error", err)
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}

// done records st as acknowledged and drops it from pending unless a newer one arrived.
func (p *publisher) done(st *kv.Status) {
	key := st.Key().String()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent[key] = fingerprint(st)
	p.acked[key] = st
	if p.pending[key] == st {
		delete(p.pending, key)
	}
}

// resendAll queues every acknowledged status again: the hub lost them (a mothership
// restored from a backup onto a fresh hub), and statuses that say nothing new are not
// sent otherwise.
func (p *publisher) resendAll() {
	p.mu.Lock()
	for key, st := range p.acked {
		if _, ok := p.pending[key]; !ok {
			p.pending[key] = st
		}
	}
	p.sent = map[string]string{}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) forget(key string, st *kv.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[key] == st {
		delete(p.pending, key)
	}
}

// Pending reports how many statuses wait for the hub.
func (p *publisher) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}
