package satellite

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// credentialHold keeps a rebuilt credentials mirror from deleting users. On a new hub (a
// mothership restored onto a fresh hub) the credentials mirror starts over empty and fills
// as the hub delivers this satellite's keys; the restored mothership republishes every
// live key only as its sync controller passes each cluster, which nothing orders before
// the hub's refusal of the satellite's heartbeat. Until the rebuilt mirror counts as
// complete, the operator adds and updates users from it but deletes none (no SCRAM user,
// no ACL, no REST users line) that is missing from it. Complete means both: at least hold
// has passed since the switch, and the mirror has caught up with the hub (nothing left to
// copy, and the hub heard from within mirrorFresh). hold must cover the time the restored
// mothership takes to lead and republish every key (its lease TTL plus one resync).
//
// The rebuild outlives a restart: a marker file next to the mirror's store says it is
// under way, and a satellite that starts with it holds again, for a whole hold.
type credentialHold struct {
	// marker is the file that marks a rebuild under way ("": none is kept).
	marker string
	hold   time.Duration
	// caughtUp reads whether the mirror has caught up with the hub.
	caughtUp func(context.Context) bool
	now      func() time.Time
	log      *slog.Logger

	mu    sync.Mutex
	since time.Time // zero: complete
}

// defaultCredentialsHold is the default of Config.CredentialsHold.
const defaultCredentialsHold = 2 * time.Minute

// newCredentialHold returns the hold of the credentials mirror; a rebuild marked in
// marker (left by a satellite that stopped during one) is resumed.
func newCredentialHold(hold time.Duration, credentials jetstream.KeyValue, marker string, now func() time.Time, log *slog.Logger) *credentialHold {
	h := &credentialHold{marker: marker, hold: hold, now: now, log: log, caughtUp: func(ctx context.Context) bool {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		st, err := credentials.Status(ictx)
		if err != nil {
			return false
		}
		m := mirrorInfo(st)
		return m != nil && m.Lag == 0 && m.Active >= 0 && m.Active < mirrorFresh
	}}
	if marker != "" {
		if _, err := os.Stat(marker); err == nil {
			log.Info("the credentials mirror was being rebuilt from a new hub: deleting no key until it is complete")
			h.since = h.now()
		}
	}
	return h
}

// start marks the mirror as being rebuilt from now on.
func (h *credentialHold) start() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.since = h.now()
	h.mu.Unlock()
	if h.marker != "" {
		if err := os.WriteFile(h.marker, []byte(h.since.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
			h.log.Warn("cannot mark the credentials rebuild: a restart during it would not hold deletions", "file", h.marker, "error", err)
		}
	}
}

// rebuilding reports whether the mirror is being rebuilt.
func (h *credentialHold) rebuilding() bool {
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.since.IsZero()
}

// complete reports whether users missing from the mirror may be deleted, and ends the
// rebuild once it is complete.
func (h *credentialHold) complete(ctx context.Context) bool {
	if h == nil {
		return true
	}
	h.mu.Lock()
	since := h.since
	h.mu.Unlock()
	if since.IsZero() {
		return true
	}
	if h.now().Sub(since) < h.hold || !h.caughtUp(ctx) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since.Equal(since) { // not started over meanwhile
		if h.marker != "" {
			if err := os.Remove(h.marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
				h.log.Warn("cannot remove the credentials rebuild mark", "file", h.marker, "error", err)
				return false // else a restart would hold again; try at the next pass
			}
		}
		h.since = time.Time{}
		return true
	}
	return false
}
