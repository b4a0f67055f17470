package api

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written as Go writes durations ("30s", "10m").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("a duration such as 30s or 10m: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Selector picks physical clusters; every field given must match (a cluster matches a list
// if it matches one of its entries). Tenants: a shared cluster matches if it hosts one.
type Selector struct {
	Regions    []string          `json:"regions,omitempty"`
	Satellites []string          `json:"satellites,omitempty"`
	Tenants    []string          `json:"tenants,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Clusters lists physical cluster ids (a roll back names the clusters it undoes).
	Clusters []string `json:"clusters,omitempty"`
}

// Wave is one stage of a rollout: the clusters not taken by an earlier wave that match its
// selector, at most Count of them or up to Percent of the rollout's clusters counted from
// the first wave on (cumulative); neither: all that match.
type Wave struct {
	Name     string    `json:"name,omitempty"`
	Selector *Selector `json:"selector,omitempty"`
	Count    int       `json:"count,omitempty"`
	Percent  int       `json:"percent,omitempty"`
}

// RolloutStrategy is how a rollout proceeds. Clusters that no wave takes go in a last wave.
type RolloutStrategy struct {
	// Waves run in order; a wave starts once the one before is healthy (every cluster done,
	// failed within the budget, skipped, or waiting for its offline satellite).
	Waves []Wave `json:"waves,omitempty"`
	// AllAtOnce puts every cluster in one wave; only when asked for by name.
	AllAtOnce bool `json:"allAtOnce,omitempty"`
	// MaxConcurrency is how many clusters of a wave change at once (0: the whole wave).
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
	// Soak is how long a changed cluster must stay Ready to be done.
	Soak Duration `json:"soak,omitempty"`
	// ProgressDeadline is how long a cluster may take to be Ready at the new revision.
	ProgressDeadline Duration `json:"progressDeadline,omitempty"`
	// OfflineDeadline is how long a cluster whose satellite is disconnected may wait before
	// it counts as failed.
	OfflineDeadline Duration `json:"offlineDeadline,omitempty"`
	// FailureBudget is how many clusters may fail before the rollout pauses itself: a count
	// ("2") or a percentage of its clusters ("5%"). Default 0: the first failure pauses.
	FailureBudget string `json:"failureBudget,omitempty"`
}

// RolloutRequest creates a rollout of a product and SKU to a profile revision (0: the
// current one).
type RolloutRequest struct {
	Product  string           `json:"product"`
	SKU      string           `json:"sku"`
	Revision int64            `json:"revision,omitempty"`
	Selector *Selector        `json:"selector,omitempty"`
	Strategy *RolloutStrategy `json:"strategy,omitempty"`
}

// RolloutAction is a user's action on a rollout: pause, resume, abort, rollback,
// finalize, override-windows.
type RolloutAction struct {
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// Rollout states.
const (
	RolloutPending    = "pending" // not planned by the controller yet
	RolloutRunning    = "running"
	RolloutPaused     = "paused"
	RolloutAborted    = "aborted"
	RolloutComplete   = "complete"
	RolloutSuperseded = "superseded"
)

// Target states: where each cluster of a rollout is.
const (
	TargetWaiting    = "waiting"    // not started: its wave has not come
	TargetWindow     = "window"     // its wave has come; waiting for its maintenance window
	TargetRolling    = "rolling"    // changed; waiting to be Ready at the new revision for the soak
	TargetDone       = "done"       // Ready at the new revision for the soak
	TargetFailed     = "failed"     // failed or missed its deadline
	TargetOffline    = "offline"    // its satellite is disconnected
	TargetSkipped    = "skipped"    // aborted, superseded, deleted, or already at the revision
	TargetPinned     = "pinned"     // an operator pinned it
	TargetSuperseded = "superseded" // a newer rollout took it over
)

// TargetStates are the target states in the order progress is shown.
var TargetStates = []string{TargetDone, TargetRolling, TargetWindow, TargetOffline, TargetFailed,
	TargetSkipped, TargetPinned, TargetWaiting, TargetSuperseded}

// Rollout is a rollout as the API shows it.
type Rollout struct {
	ID             string          `json:"id"`
	Product        string          `json:"product"`
	SKU            string          `json:"sku"`
	Revision       int64           `json:"revision"`
	Kind           string          `json:"kind"` // rollout or rollback
	RollbackOf     string          `json:"rollbackOf,omitempty"`
	Selector       Selector        `json:"selector"`
	Strategy       RolloutStrategy `json:"strategy"`
	RequestedState string          `json:"requestedState"`
	State          string          `json:"state"`
	Reason         string          `json:"reason,omitempty"`
	// Wave is the wave in progress (0-based), of Waves.
	Wave            int  `json:"wave"`
	Waves           int  `json:"waves"`
	OverrideWindows bool `json:"overrideWindows,omitempty"`
	Finalized       bool `json:"finalized,omitempty"`
	// MetadataVersion is the metadata.version a finalized Kafka rollout asks its clusters
	// for ("3.9-IV0"), and FinalizedClusters how many of them Kafka reports at it.
	MetadataVersion   string          `json:"metadataVersion,omitempty"`
	FinalizedClusters int             `json:"finalizedClusters,omitempty"`
	CreatedAt         time.Time       `json:"createdAt"`
	CreatedBy         string          `json:"createdBy"`
	Progress          []WaveProgress  `json:"progress,omitempty"`
	Targets           []RolloutTarget `json:"targets,omitempty"`
	History           []RolloutEvent  `json:"history,omitempty"`
}

// WaveProgress counts a wave's clusters by state.
type WaveProgress struct {
	Wave   int            `json:"wave"`
	Counts map[string]int `json:"counts"`
}

// RolloutTarget is one cluster of a rollout.
type RolloutTarget struct {
	Cluster      string     `json:"cluster"`
	Wave         int        `json:"wave"`
	Satellite    string     `json:"satellite,omitempty"`
	FromRevision int64      `json:"fromRevision"`
	State        string     `json:"state"`
	Reason       string     `json:"reason,omitempty"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
	// MetadataVersion is the finalized metadata.version Kafka reports for the cluster
	// ("3.9-IV0"; empty before its satellite read it), and Finalized whether it is at the
	// level the finalized rollout asks for.
	MetadataVersion string `json:"metadataVersion,omitempty"`
	Finalized       bool   `json:"finalized,omitempty"`
}

// RolloutEvent is one entry of a rollout's history: a user's action (the actor is the API
// key's id) or one the rollout controller took on its own (actor rollout-controller), in
// time order.
type RolloutEvent struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

// ClusterLabels sets (value non-empty) or removes (empty value) labels of a physical cluster.
type ClusterLabels struct {
	Labels map[string]string `json:"labels"`
}

// ClusterPin pins (true) or unpins a physical cluster to the revision it runs.
type ClusterPin struct {
	Pinned bool `json:"pinned"`
}

// MaintenanceWindow is when changes may start on the clusters of a scope: inside one of
// the weekly windows (UTC; none: any time) and outside every exclusion.
type MaintenanceWindow struct {
	// Scope is cluster:<physical cluster id> (tenant admins, for their dedicated clusters),
	// satellite:<name> or region:<name> (operators, for shared clusters). The most specific
	// scope that has windows applies.
	Scope      string         `json:"scope"`
	Weekly     []WeeklyWindow `json:"weekly,omitempty"`
	Exclusions []Exclusion    `json:"exclusions,omitempty"`
	UpdatedBy  string         `json:"updatedBy,omitempty"`
}

// WeeklyWindow opens every week on Day (mon … sun) at Start (HH:MM, UTC) for Duration.
type WeeklyWindow struct {
	Day      string   `json:"day"`
	Start    string   `json:"start"`
	Duration Duration `json:"duration"`
}

// Exclusion holds every change between From and To.
type Exclusion struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}
