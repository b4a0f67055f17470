package rollout

import (
	"context"
	"fmt"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/mothership/api"
)

// Actor is who the rollout's history names for what the controller did on its own.
const Actor = "rollout-controller"

// The actions the controller records in a rollout's history.
const (
	ActionPlanned     = "planned"
	ActionWaveStarted = "wave-started"
	ActionWaveHealthy = "wave-healthy"
	ActionPaused      = "paused"
	ActionCompleted   = "completed"
	ActionSuperseded  = "superseded"
)

// record appends an event to the rollout's history in the transaction of the state change
// it records, so that a crash loses both or neither. key names the event within its
// rollout: a step replayed after a failed commit, or by a new leader, records it once.
func record(ctx context.Context, q rolloutdb.Queries, rolloutID, key, action, detail string) error {
	return q.InsertRolloutEvent(ctx, db.InsertRolloutEventParams{RolloutID: rolloutID, Key: key, At: db.Now(),
		Actor: Actor, Action: action, Detail: detail})
}

// waveKey names an event of one wave (0-based) of a rollout.
func waveKey(action string, wave int64) string { return fmt.Sprintf("%s/%d", action, wave) }

// waveSummary says how many clusters of wave w (0-based) of n are in each state, in the
// order progress is shown.
func waveSummary(targets []target, w, n int64) string {
	var in []target
	for _, t := range targets {
		if t.Wave == w {
			in = append(in, t)
		}
	}
	return fmt.Sprintf("wave %d of %d: %s", w+1, n, counts(in))
}

// completion says how a rollout ended: its clusters per state, and the reason if any.
func completion(targets []target, reason string) string {
	s := counts(targets)
	if reason != "" {
		s += "; " + reason
	}
	return s
}

// counts says how many of the targets are in each state.
func counts(targets []target) string {
	by := map[string]int{}
	for _, t := range targets {
		by[t.State]++
	}
	s := fmt.Sprintf("%d clusters", len(targets))
	for _, state := range api.TargetStates {
		if by[state] > 0 {
			s += fmt.Sprintf(", %d %s", by[state], state)
		}
	}
	return s
}
