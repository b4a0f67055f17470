// Package leader elects the one mothership replica that runs the leader-only services (the
// outbox relay, the controllers, the usage meter) through a lease row in the database: the
// holder renews it well before it expires; another replica takes it once it has expired
// (a crashed leader) or been released (a graceful stop), always with the next fencing
// token. The store's leader fence checks holder and token inside every leader-only
// transaction, so the writes of a deposed leader — one frozen past its lease, say — fail.
// It writes only the leader_lease table (db/leaderdb). Every replica runs it.
package leader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/leaderdb"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
)

// Lease is the name of the mothership's lease.
const Lease = "mothership"

// Defaults: a crashed leader is replaced within TTL plus one attempt; a leader renews five
// times per TTL, so a slow database does not cost it the lease.
const (
	DefaultTTL     = 10 * time.Second
	DefaultAttempt = 500 * time.Millisecond
)

// Elector takes part in the election as one replica.
type Elector struct {
	store   leaderdb.Store
	fence   *db.Store
	holder  string
	ttl     time.Duration
	attempt time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	token   int64     // 0 while not leading
	renewed time.Time // last successful take or renewal
	changed chan struct{}
}

// New returns an elector for replica holder (unique among the replicas, stable across its
// restarts: a restarted leader takes its lease back at once). ttl 0 is DefaultTTL.
func New(s *db.Store, holder string, ttl time.Duration, log *slog.Logger) *Elector {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	e := &Elector{store: leaderdb.New(s), fence: s, holder: holder, ttl: ttl, attempt: min(DefaultAttempt, ttl/5),
		log: log, now: time.Now, changed: make(chan struct{})}
	s.SetLeaderFence(e.check)
	metrics.Leader.WithLabelValues(holder).Set(0)
	return e
}

// Holder is this replica's name in the election.
func (e *Elector) Holder() string { return e.holder }

// Leading reports whether this replica leads, and with which token.
func (e *Elector) Leading() (bool, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.token != 0, e.token
}

// Changed is closed (and replaced) whenever this replica gains or loses the lead.
func (e *Elector) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// Current reads who holds the lease now (for /readyz and the API).
func (e *Elector) Current(ctx context.Context) (db.LeaderLease, error) {
	return e.store.Read().GetLease(ctx, Lease)
}

// check is the store's leader fence.
func (e *Elector) check(ctx context.Context, tx *db.Tx) error {
	leading, token := e.Leading()
	if !leading {
		return db.ErrFenced
	}
	return e.fence.CheckLease(ctx, tx, Lease, e.holder, token)
}

// Run takes part in the election until ctx ends. It does not give the lease up: Release
// does, once what ran under it has stopped.
func (e *Elector) Run(ctx context.Context) error {
	for {
		leading, _ := e.Leading()
		wait := e.attempt
		if leading {
			wait = e.ttl / 5
		}
		e.step(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// step takes the lease, or renews it; a leader that cannot renew before its lease runs out
// steps down.
func (e *Elector) step(ctx context.Context) {
	now := e.now()
	expires := now.Add(e.ttl).UnixMilli()
	leading, token := e.Leading()
	if leading {
		var n int64
		err := e.store.InTx(ctx, func(q leaderdb.Queries) (err error) {
			n, err = q.RenewLease(ctx, db.RenewLeaseParams{Name: Lease, Holder: e.holder, Token: token, ExpiresAt: expires})
			return err
		})
		e.mu.Lock()
		renewed := e.renewed
		e.mu.Unlock()
		switch {
		case err == nil && n == 1:
			e.set(token, now)
		case err == nil:
			e.log.Warn("leader lease taken over; stepping down", "holder", e.holder, "token", token)
			e.set(0, time.Time{})
		case now.Sub(renewed) > e.ttl*4/5:
			e.log.Warn("leader lease not renewed in time; stepping down", "holder", e.holder, "error", err)
			e.set(0, time.Time{})
		default:
			e.log.Warn("renewing the leader lease", "error", err)
		}
		return
	}
	var lease db.LeaderLease
	err := e.store.InTx(ctx, func(q leaderdb.Queries) error {
		n, err := q.TakeLease(ctx, db.TakeLeaseParams{Name: Lease, Holder: e.holder, ExpiresAt: expires, Now: now.UnixMilli()})
		if err != nil || n == 0 {
			return err
		}
		lease, err = q.GetLease(ctx, Lease)
		return err
	})
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			e.log.Warn("taking the leader lease", "error", err)
		}
		return
	}
	if lease.Token != 0 {
		e.log.Info("leading", "holder", e.holder, "token", lease.Token)
		e.set(lease.Token, now)
	}
}

// Release gives the lease up if this replica holds it, so that another replica leads at
// once (a graceful stop).
func (e *Elector) Release() {
	leading, token := e.Leading()
	if !leading {
		return
	}
	e.set(0, time.Time{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := e.store.InTx(ctx, func(q leaderdb.Queries) error {
		_, err := q.ReleaseLease(ctx, db.ReleaseLeaseParams{Name: Lease, Holder: e.holder, Token: token})
		return err
	})
	if err != nil {
		e.log.Warn("releasing the leader lease", "error", err)
		return
	}
	e.log.Info("leader lease released", "holder", e.holder)
}

func (e *Elector) set(token int64, renewed time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := (e.token != 0) != (token != 0) || (token != 0 && token != e.token)
	e.token, e.renewed = token, renewed
	if changed {
		leading := 0.0
		if token != 0 {
			leading = 1
		}
		metrics.Leader.WithLabelValues(e.holder).Set(leading)
		close(e.changed)
		e.changed = make(chan struct{})
	}
}
