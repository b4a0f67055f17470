package frontend

import (
	"slices"
	"testing"

	"github.com/orbitcp/orbit/db"
)

// TestMergeHistory: the users' actions and the controller's events come out in time order,
// a user's action before the controller's event of the same millisecond, each list's own
// order kept on ties.
func TestMergeHistory(t *testing.T) {
	users := []db.RolloutHistory{{At: 10, Actor: "key-o", Action: "create"}, {At: 50, Actor: "key-o", Action: "resume"}}
	ctl := []db.RolloutEvent{{At: 20, Actor: "rollout-controller", Action: "planned"}, {At: 20, Actor: "rollout-controller", Action: "wave-started"},
		{At: 40, Actor: "rollout-controller", Action: "paused"}, {At: 50, Actor: "rollout-controller", Action: "wave-healthy"},
		{At: 60, Actor: "rollout-controller", Action: "completed"}}
	var got []string
	for _, e := range mergeHistory(users, ctl) {
		got = append(got, e.Actor+":"+e.Action)
	}
	want := []string{"key-o:create", "rollout-controller:planned", "rollout-controller:wave-started", "rollout-controller:paused",
		"key-o:resume", "rollout-controller:wave-healthy", "rollout-controller:completed"}
	if !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
	if h := mergeHistory(nil, nil); len(h) != 0 {
		t.Fatalf("empty history: %v", h)
	}
}
