package satellite

import (
	"context"
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
type credentialHold struct {
	hold time.Duration
	// caughtUp reads whether the mirror has caught up with the hub.
	caughtUp func(context.Context) bool
	now      func() time.Time

	mu    sync.Mutex
	since time.Time // zero: complete
}

// defaultCredentialsHold is the default of Config.CredentialsHold.
const defaultCredentialsHold = 2 * time.Minute

func newCredentialHold(hold time.Duration, credentials jetstream.KeyValue) *credentialHold {
	return &credentialHold{hold: hold, now: time.Now, caughtUp: func(ctx context.Context) bool {
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		st, err := credentials.Status(ictx)
		if err != nil {
			return false
		}
		m := mirrorInfo(st)
		return m != nil && m.Lag == 0 && m.Active >= 0 && m.Active < mirrorFresh
	}}
}

// start marks the mirror as being rebuilt from now on.
func (h *credentialHold) start() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.since = h.now()
	h.mu.Unlock()
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
		h.since = time.Time{}
		return true
	}
	return false
}
