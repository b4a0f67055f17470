package rollout

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/metrics"
	"github.com/orbitcp/orbit/mothership/physical"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// fleet is a control plane's database with the real physical controller and rollout
// controller, and satellites simulated at the level the status controller records them:
// each reports, for its clusters, the generation and profile revision the physical
// controller rendered, Ready unless told otherwise.
type fleet struct {
	t        *testing.T
	store    *db.Store
	phys     *physical.Controller
	ctl      *Controller
	mu       sync.Mutex
	now      time.Time
	sats     map[string]time.Time // heartbeats
	degraded map[string]bool      // physical cluster id → reports degraded
	kvRev    int64
	logical  []string
	changes  map[string][]int64 // physical cluster id → revisions it was rendered at, in order
}

func newFleet(t *testing.T, store *db.Store, clusters map[string]int) *fleet {
	t.Helper()
	f := &fleet{t: t, store: store, phys: physical.New(store, time.Hour), now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		sats: map[string]time.Time{}, degraded: map[string]bool{}, changes: map[string][]int64{}}
	f.ctl = f.controller()
	ctx := context.Background()
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertTenant(ctx, db.InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1})
	})
	var sats []string
	for sat := range clusters {
		sats = append(sats, sat)
	}
	slices.Sort(sats)
	for _, sat := range sats {
		f.sats[sat] = f.now
		for i := range clusters[sat] {
			id := fmt.Sprintf("lkc-%s-%d", sat, i)
			dbtest.InTx(t, store, func(q dbtest.Queries) error {
				return q.InsertLogicalCluster(ctx, db.InsertLogicalClusterParams{ID: id, TenantID: "t1", Name: id, Product: "kafka",
					Sku: "dedicated", Cku: 1, Region: "r-" + sat, Cloud: "aws", Network: "public", Now: 1})
			})
			if err := f.phys.Reconcile(ctx, id); err != nil {
				t.Fatal(err)
			}
			dbtest.InTx(t, store, func(q dbtest.Queries) error {
				return q.UpsertPlacement(ctx, db.UpsertPlacementParams{PhysicalClusterID: "pkc-" + strings.TrimPrefix(id, "lkc-"),
					Satellite: sql.NullString{String: sat, Valid: true}, Reason: "test", Now: 1})
			})
			f.logical = append(f.logical, id)
		}
	}
	f.report()
	return f
}

// controller is a fresh rollout controller on the fleet's database (as after a restart).
func (f *fleet) controller() *Controller {
	return New(Config{Store: f.store, Now: f.clock, Satellites: f.satellites})
}

func (f *fleet) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fleet) satellites() []kv.Satellite {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []kv.Satellite
	for name, hb := range f.sats {
		out = append(out, kv.Satellite{Name: name, Region: "r-" + name, HeartbeatAt: hb})
	}
	return out
}

// tick moves the clock; connected satellites heartbeat.
func (f *fleet) tick(d time.Duration, offline ...string) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	for name := range f.sats {
		if !slices.Contains(offline, name) {
			f.sats[name] = f.now
		}
	}
	f.mu.Unlock()
}

// setProfile records revision rev of kafka/dedicated (version 3.9.<rev>, disk GiB).
func (f *fleet) setProfile(rev int64, disk int) {
	spec, _ := json.Marshal(api.ProfileSpec{Version: fmt.Sprintf("3.9.%d", rev), ReplicasPerCKU: 3, Controllers: 3, StorageGiB: disk})
	dbtest.InTx(f.t, f.store, func(q dbtest.Queries) error {
		return q.InsertProfile(context.Background(), db.InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: rev,
			Spec: string(spec), CreatedAt: 1, CreatedBy: "op"})
	})
}

// createRollout records a rollout as the frontend does.
func (f *fleet) createRollout(id string, rev int64, strat api.RolloutStrategy, sel api.Selector) {
	s, _ := json.Marshal(strat)
	se, _ := json.Marshal(sel)
	dbtest.InTx(f.t, f.store, func(q dbtest.Queries) error {
		return q.InsertRollout(context.Background(), db.InsertRolloutParams{ID: id, Product: "kafka", Sku: "dedicated", Revision: rev,
			Kind: "rollout", Selector: string(se), Strategy: string(s), RequestedState: api.RolloutRunning, Now: f.clock().UnixMilli(), CreatedBy: "op"})
	})
}

func (f *fleet) request(id, state string) {
	dbtest.InTx(f.t, f.store, func(q dbtest.Queries) error {
		return q.UpdateRolloutRequest(context.Background(), db.UpdateRolloutRequestParams{ID: id, RequestedState: state, Now: 1})
	})
}

// round is one pass of the control loop: the rollout controller steps, the physical
// controller renders, connected satellites report.
func (f *fleet) round(offline ...string) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.ctl.Step(ctx); err != nil {
		f.t.Fatal(err)
	}
	for _, id := range f.logical {
		if err := f.phys.Reconcile(ctx, id); err != nil {
			f.t.Fatal(err)
		}
	}
	f.report(offline...)
}

// report: every connected satellite reports its clusters at the rendered generation and
// revision, and the physical controller's history of each cluster is noted.
func (f *fleet) report(offline ...string) {
	ctx := context.Background()
	q := dbtest.Q(f.store)
	for _, id := range f.logical {
		p, err := q.GetPhysicalClusterByLogical(ctx, id)
		if err != nil {
			f.t.Fatal(err)
		}
		if h := f.changes[p.ID]; len(h) == 0 || h[len(h)-1] != p.ProfileRevision {
			f.changes[p.ID] = append(h, p.ProfileRevision)
		}
		pl, err := q.GetPlacement(ctx, p.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		if slices.Contains(offline, pl.Satellite.String) {
			continue
		}
		phase := kv.PhaseReady
		if f.degraded[p.ID] {
			phase = kv.PhaseDegraded
		}
		f.kvRev++
		dbtest.InTx(f.t, f.store, func(q dbtest.Queries) error {
			return q.UpsertClusterStatus(ctx, db.UpsertClusterStatusParams{PhysicalClusterID: p.ID, Satellite: pl.Satellite.String,
				ObservedGeneration: p.Generation, ProfileRevision: p.ProfileRevision, Phase: string(phase), Message: "broker 1 under-replicated",
				Conditions: "[]", ReportedAt: f.clock().UnixMilli(), KvRevision: f.kvRev})
		})
	}
}

func (f *fleet) status(id string) db.RolloutStatus {
	st, err := dbtest.Q(f.store).GetRolloutStatus(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fleet) targets(id string) map[string]db.RolloutTarget {
	rows, err := dbtest.Q(f.store).ListRolloutTargets(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]db.RolloutTarget{}
	for _, r := range rows {
		out[r.PhysicalClusterID] = r
	}
	return out
}

// events lists the controller's events of a rollout as "action detail", in order, and
// checks their actor.
func (f *fleet) events(id string) []string {
	f.t.Helper()
	rows, err := dbtest.Q(f.store).ListRolloutEvents(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.Actor != Actor {
			f.t.Fatalf("event %+v: actor %q, want %q", r, r.Actor, Actor)
		}
		out = append(out, r.Action+" "+r.Detail)
	}
	return out
}

// actions is the actions of events, in order.
func actions(events []string) []string {
	var out []string
	for _, e := range events {
		out = append(out, strings.SplitN(e, " ", 2)[0])
	}
	return out
}

// revisions is how many clusters are rendered at each revision.
func (f *fleet) revisions() map[int64]int {
	out := map[int64]int{}
	for _, h := range f.changes {
		out[h[len(h)-1]]++
	}
	return out
}

// TestRolloutPausesPastBudgetAndResumes: clusters on three satellites; the first wave's
// cluster reports the new revision Degraded past its progress deadline, the budget (0) is
// spent: the rollout pauses
// naming it, every cluster after it keeps the old revision; fixed and resumed, it goes on
// wave by wave and completes, each cluster changed once.
func TestRolloutPausesPastBudgetAndResumes(t *testing.T) {
	for dialect, store := range hubtest.OpenStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFleet(t, store, map[string]int{"sat-a": 3, "sat-b": 3, "sat-c": 4})
			f.setProfile(1, 500)
			f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(time.Minute), ProgressDeadline: api.Duration(30 * time.Second),
				Waves: []api.Wave{{Name: "canary", Count: 1}, {Percent: 50}}}, api.Selector{})
			f.degraded["pkc-sat-a-0"] = true
			for range 5 {
				f.round()
				f.tick(10 * time.Second)
			}
			st := f.status("ro-1")
			if st.State != api.RolloutPaused || !strings.Contains(st.Reason, "pkc-sat-a-0") || !strings.Contains(st.Reason, "degraded") {
				t.Fatalf("after the canary reported degraded: %+v", st)
			}
			if got := f.revisions(); got[1] != 1 || got[0] != 9 {
				t.Fatalf("revisions while paused: %v (want only the canary at 1)", got)
			}
			wantRolloutSeries(t, "ro-1", true, 1, 1)
			ev := f.events("ro-1")
			if got := actions(ev); !slices.Equal(got, []string{ActionPlanned, ActionWaveStarted, ActionPaused}) {
				t.Fatalf("events while paused: %q", ev)
			}
			if ev[2] != ActionPaused+" "+st.Reason {
				t.Fatalf("pause event %q, want the reason %q", ev[2], st.Reason)
			}
			// Paused, time passes: nothing more starts.
			for range 5 {
				f.round()
				f.tick(time.Minute)
			}
			if got := f.revisions(); got[1] != 1 {
				t.Fatalf("a paused rollout changed more clusters: %v", got)
			}
			f.degraded["pkc-sat-a-0"] = false
			f.request("ro-1", api.RolloutRunning)
			f.round()
			wantRolloutSeries(t, "ro-1", true, 0, 1)
			// A pause a user asks for is no failure-budget pause: the alert's series stays 0.
			f.request("ro-1", api.RolloutPaused)
			f.round()
			if st := f.status("ro-1"); st.State != api.RolloutPaused {
				t.Fatalf("after a user's pause: %+v", st)
			}
			wantRolloutSeries(t, "ro-1", true, 0, 1)
			f.request("ro-1", api.RolloutRunning)
			waves := []int64{}
			for range 40 {
				f.round()
				f.tick(20 * time.Second)
				if st := f.status("ro-1"); len(waves) == 0 || waves[len(waves)-1] != st.Wave {
					waves = append(waves, st.Wave)
				}
			}
			if st := f.status("ro-1"); st.State != api.RolloutComplete || st.Waves != 3 {
				t.Fatalf("after resume: %+v", st)
			}
			if !slices.Equal(waves, []int64{0, 1, 2}) {
				t.Fatalf("waves went %v", waves)
			}
			wantRolloutSeries(t, "ro-1", false, 0, 0) // finished: its series are gone
			// The user's pause is in the users' history, not the controller's events.
			wantActions := []string{ActionPlanned, ActionWaveStarted, ActionPaused, ActionWaveHealthy, ActionWaveStarted,
				ActionWaveHealthy, ActionWaveStarted, ActionWaveHealthy, ActionCompleted}
			if ev := f.events("ro-1"); !slices.Equal(actions(ev), wantActions) || ev[len(ev)-1] != ActionCompleted+" 10 clusters, 10 done" ||
				ev[3] != ActionWaveHealthy+" wave 1 of 3: 1 clusters, 1 done" {
				t.Fatalf("events: %q", ev)
			}
			for id, h := range f.changes {
				if !slices.Equal(h, []int64{0, 1}) {
					t.Fatalf("cluster %s went through revisions %v", id, h)
				}
			}
		})
	}
}

// TestOfflineSatelliteWaitsAndStaleReadyNeverCounts: a satellite disconnected during the
// rollout: its clusters show offline, the others proceed wave after wave; its Ready from
// before the change never counts; after it reconnects its clusters roll and the rollout
// completes.
func TestOfflineSatelliteWaitsAndStaleReadyNeverCounts(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	f := newFleet(t, store, map[string]int{"sat-a": 2, "sat-b": 2, "sat-c": 2})
	f.setProfile(1, 500)
	f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(30 * time.Second), ProgressDeadline: api.Duration(5 * time.Minute),
		Waves: []api.Wave{{Count: 1}, {Count: 2}, {Count: 2}}}, api.Selector{})
	f.round() // wave 0 (pkc-sat-a-0) starts
	// sat-b disconnects from here on: no heartbeats, no reports.
	for range 40 {
		f.tick(10*time.Second, "sat-b")
		f.round("sat-b")
	}
	st := f.status("ro-1")
	tg := f.targets("ro-1")
	for _, id := range []string{"pkc-sat-b-0", "pkc-sat-b-1"} {
		if tg[id].State != api.TargetOffline {
			t.Fatalf("%s of the disconnected satellite is %s (%s)", id, tg[id].State, tg[id].Reason)
		}
	}
	for _, id := range []string{"pkc-sat-a-0", "pkc-sat-a-1", "pkc-sat-c-0", "pkc-sat-c-1"} {
		if tg[id].State != api.TargetDone {
			t.Fatalf("%s is %s (%s): the others must proceed", id, tg[id].State, tg[id].Reason)
		}
	}
	if st.State != api.RolloutRunning || st.Wave != st.Waves-1 {
		t.Fatalf("rollout with a satellite offline: %+v", st)
	}
	// The satellite is back but has not reported the new revision: its old Ready does not
	// count; once it reports, its clusters are done.
	f.tick(time.Second)
	if err := f.ctl.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"pkc-sat-b-0", "pkc-sat-b-1"} {
		if s := f.targets("ro-1")[id].State; s == api.TargetDone {
			t.Fatalf("%s done on a report of the old revision", id)
		}
	}
	for range 10 {
		f.round()
		f.tick(10 * time.Second)
	}
	if st := f.status("ro-1"); st.State != api.RolloutComplete {
		t.Fatalf("after the satellite came back: %+v %v", st, f.targets("ro-1"))
	}
}

// TestMaintenanceWindowsHoldAndOverride: a cluster outside its weekly window waits and
// starts when it opens; an exclusion holds another; an operator's override proceeds.
func TestMaintenanceWindowsHoldAndOverride(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	f := newFleet(t, store, map[string]int{"sat-a": 1, "sat-b": 1})
	ctx := context.Background()
	// Now is Monday 12:00 UTC. sat-a opens on Monday 14:00 for 2h; sat-b's is open now but
	// excluded until Wednesday.
	setWindow := func(w api.MaintenanceWindow) {
		spec, _ := json.Marshal(w)
		dbtest.InTx(t, store, func(q dbtest.Queries) error {
			return q.UpsertMaintenanceWindow(ctx, db.UpsertMaintenanceWindowParams{Scope: w.Scope, Spec: string(spec), UpdatedBy: "op", UpdatedAt: 1})
		})
	}
	setWindow(api.MaintenanceWindow{Scope: "satellite:sat-a", Weekly: []api.WeeklyWindow{{Day: "mon", Start: "14:00", Duration: api.Duration(2 * time.Hour)}}})
	setWindow(api.MaintenanceWindow{Scope: "region:r-sat-b", Weekly: []api.WeeklyWindow{{Day: "mon", Start: "00:00", Duration: api.Duration(24 * time.Hour)}},
		Exclusions: []api.Exclusion{{From: f.clock().Add(-time.Hour), To: f.clock().Add(48 * time.Hour)}}})
	f.setProfile(1, 500)
	f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(time.Minute), AllAtOnce: true}, api.Selector{})
	f.round()
	tg := f.targets("ro-1")
	if a := tg["pkc-sat-a-0"]; a.State != api.TargetWindow || !strings.Contains(a.Reason, "2026-11-23T14:00:00Z") {
		t.Fatalf("outside its window: %+v", a)
	}
	if b := tg["pkc-sat-b-0"]; b.State != api.TargetWindow {
		t.Fatalf("inside an exclusion: %+v", b)
	}
	f.tick(2*time.Hour + time.Minute) // 14:01: sat-a's window is open
	for range 5 {
		f.round()
		f.tick(30 * time.Second)
	}
	tg = f.targets("ro-1")
	if tg["pkc-sat-a-0"].State != api.TargetDone || tg["pkc-sat-b-0"].State != api.TargetWindow {
		t.Fatalf("after sat-a's window opened: a %+v, b %+v", tg["pkc-sat-a-0"], tg["pkc-sat-b-0"])
	}
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpdateRolloutRequest(ctx, db.UpdateRolloutRequestParams{ID: "ro-1", RequestedState: api.RolloutRunning, OverrideWindows: 1, Now: 2})
	})
	for range 5 {
		f.round()
		f.tick(30 * time.Second)
	}
	tg = f.targets("ro-1")
	if b := tg["pkc-sat-b-0"]; b.State != api.TargetDone {
		t.Fatalf("after the override: %+v", b)
	}
	if st := f.status("ro-1"); st.State != api.RolloutComplete {
		t.Fatalf("rollout: %+v", st)
	}
}

// TestRestartMidWaveChangesEachClusterOnce: the rollout controller is replaced by a new
// one (a mothership restart) after every round, mid-wave: every cluster changes exactly
// once and the waves keep their order.
func TestRestartMidWaveChangesEachClusterOnce(t *testing.T) {
	for dialect, store := range hubtest.OpenStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			f := newFleet(t, store, map[string]int{"sat-a": 4, "sat-b": 4})
			f.setProfile(1, 500)
			f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(20 * time.Second), MaxConcurrency: 2,
				Waves: []api.Wave{{Count: 1}, {Percent: 50}}}, api.Selector{})
			started := map[string]int64{}
			for range 60 {
				f.ctl = f.controller()
				f.round()
				f.tick(10 * time.Second)
				for id, tg := range f.targets("ro-1") {
					if tg.StartedAt.Valid {
						if at, ok := started[id]; ok && at != tg.StartedAt.Int64 {
							t.Fatalf("%s started twice", id)
						}
						started[id] = tg.StartedAt.Int64
					}
				}
			}
			if st := f.status("ro-1"); st.State != api.RolloutComplete {
				t.Fatalf("rollout: %+v", st)
			}
			// Each event once, in order, although every round ran on a new controller.
			if ev := f.events("ro-1"); !slices.Equal(actions(ev), []string{ActionPlanned, ActionWaveStarted, ActionWaveHealthy,
				ActionWaveStarted, ActionWaveHealthy, ActionWaveStarted, ActionWaveHealthy, ActionCompleted}) {
				t.Fatalf("events: %q", ev)
			}
			tg := f.targets("ro-1")
			lastOfWave := map[int64]int64{}
			for _, x := range tg {
				lastOfWave[x.Wave] = max(lastOfWave[x.Wave], x.FinishedAt.Int64)
			}
			for _, x := range tg {
				if x.Wave > 0 && x.StartedAt.Int64 < lastOfWave[x.Wave-1] {
					t.Fatalf("%s of wave %d started before wave %d finished", x.PhysicalClusterID, x.Wave, x.Wave-1)
				}
			}
			for id, h := range f.changes {
				if !slices.Equal(h, []int64{0, 1}) {
					t.Fatalf("cluster %s went through revisions %v", id, h)
				}
			}
		})
	}
}

// TestNewerRolloutSupersedes: a second revision while the first rolls: the first stops,
// every cluster goes on to the newest; a pinned cluster is skipped and listed.
func TestNewerRolloutSupersedes(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	f := newFleet(t, store, map[string]int{"sat-a": 3})
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpsertClusterPin(context.Background(), db.UpsertClusterPinParams{PhysicalClusterID: "pkc-sat-a-2", PinnedBy: "op", PinnedAt: 1})
	})
	f.setProfile(1, 500)
	f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(time.Hour), Waves: []api.Wave{{Count: 1}}}, api.Selector{})
	f.round()
	f.round()
	f.tick(time.Second)
	f.setProfile(2, 500)
	f.createRollout("ro-2", 2, api.RolloutStrategy{Soak: api.Duration(time.Second), AllAtOnce: true}, api.Selector{})
	for range 5 {
		f.round()
		f.tick(5 * time.Second)
	}
	if st := f.status("ro-1"); st.State != api.RolloutSuperseded {
		t.Fatalf("the older rollout: %+v", st)
	}
	if st := f.status("ro-2"); st.State != api.RolloutComplete {
		t.Fatalf("the newer rollout: %+v", st)
	}
	if ev := f.events("ro-1"); !slices.Equal(actions(ev), []string{ActionPlanned, ActionWaveStarted, ActionSuperseded}) ||
		ev[2] != ActionSuperseded+" superseded by rollout ro-2" {
		t.Fatalf("events of the superseded rollout: %q", ev)
	}
	if ev := f.events("ro-2"); !slices.Equal(actions(ev), []string{ActionPlanned, ActionWaveStarted, ActionWaveHealthy, ActionCompleted}) ||
		ev[0] != ActionPlanned+" 3 clusters in 1 waves, 1 pinned" {
		t.Fatalf("events of the newer rollout: %q", ev)
	}
	if tg := f.targets("ro-2")["pkc-sat-a-2"]; tg.State != api.TargetPinned {
		t.Fatalf("the pinned cluster: %+v", tg)
	}
	want := map[string][]int64{"pkc-sat-a-0": {0, 1, 2}, "pkc-sat-a-1": {0, 2}, "pkc-sat-a-2": {0}}
	for id, h := range want {
		if !slices.Equal(f.changes[id], h) {
			t.Fatalf("%s went through %v, want %v", id, f.changes[id], h)
		}
	}
}

// wantRolloutSeries: the rollout's series orbit_rollout_paused and orbit_rollout_wave exist
// in the mothership's registry with the values given, or (exists false) do not.
func wantRolloutSeries(t *testing.T, id string, exists bool, paused, wave float64) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "rollout" && l.GetValue() == id {
					got[fam.GetName()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	want := map[string]float64{}
	if exists {
		want = map[string]float64{"orbit_rollout_paused": paused, "orbit_rollout_wave": wave}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("series of rollout %s: %v, want %v", id, got, want)
	}
}

// TestFinalizeSetsTheMetadataVersionOfTheClustersChanged: finalizing a complete rollout
// of Kafka 4.0 asks each cluster it changed for 4.0-IV3 (25), once, and the physical
// controller renders it; a pinned cluster the rollout did not change is not asked.
func TestFinalizeSetsTheMetadataVersionOfTheClustersChanged(t *testing.T) {
	store := hubtest.OpenSQLite(t)
	ctx := context.Background()
	f := newFleet(t, store, map[string]int{"sat-a": 2, "sat-b": 1})
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpsertClusterPin(ctx, db.UpsertClusterPinParams{PhysicalClusterID: "pkc-sat-b-0", PinnedBy: "op", PinnedAt: 1})
	})
	spec, _ := json.Marshal(api.ProfileSpec{Version: "4.0.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500})
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.InsertProfile(ctx, db.InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: 1, Spec: string(spec), CreatedAt: 1, CreatedBy: "op"})
	})
	f.createRollout("ro-1", 1, api.RolloutStrategy{Soak: api.Duration(time.Second), AllAtOnce: true}, api.Selector{})
	for range 4 {
		f.round()
		f.tick(5 * time.Second)
	}
	if st := f.status("ro-1"); st.State != api.RolloutComplete || st.FinalizedAt.Valid {
		t.Fatalf("rollout: %+v", st)
	}
	q := dbtest.Q(store)
	levels := func() map[string]int64 {
		out := map[string]int64{}
		for _, id := range []string{"pkc-sat-a-0", "pkc-sat-a-1", "pkc-sat-b-0"} {
			p, err := q.GetPhysicalCluster(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = p.MetadataVersion
		}
		return out
	}
	if l := levels(); l["pkc-sat-a-0"] != 0 || l["pkc-sat-a-1"] != 0 {
		t.Fatalf("metadata versions before the finalize: %v", l)
	}
	dbtest.InTx(t, store, func(q dbtest.Queries) error {
		return q.UpdateRolloutRequest(ctx, db.UpdateRolloutRequestParams{ID: "ro-1", RequestedState: api.RolloutRunning, FinalizeRequested: 1, Now: 2})
	})
	f.round()
	if st := f.status("ro-1"); !st.FinalizedAt.Valid {
		t.Fatalf("not finalized: %+v", st)
	}
	if l := levels(); l["pkc-sat-a-0"] != 25 || l["pkc-sat-a-1"] != 25 || l["pkc-sat-b-0"] != 0 {
		t.Fatalf("metadata versions after the finalize: %v", l)
	}
	fin, err := q.ListRolloutFinalization(ctx, "ro-1")
	if err != nil || len(fin) != 3 {
		t.Fatalf("finalization: %v %v", fin, err)
	}
	gen, _ := q.GetPhysicalCluster(ctx, "pkc-sat-a-0")
	f.round()
	if again, _ := q.GetPhysicalCluster(ctx, "pkc-sat-a-0"); again.Generation != gen.Generation {
		t.Fatalf("the finalize was applied again: generation %d, then %d", gen.Generation, again.Generation)
	}
}
