package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/mothership/rollout"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestRolloutPausesOnKafkaDegraded: clusters on three simulated satellites; on one of
// them, each cluster that runs the new revision loses a broker in Kafka itself (the
// harness fences it in the cluster's simulated Kafka as soon as the satellite reports the
// new revision), so the satellite reports it Degraded from what Kafka says. The rollout
// pauses itself once the failure budget is spent, its reason naming the failing clusters;
// the clusters of the wave after keep the old revision (their desired state and broker
// image); the pause is in `orbit rollout get`'s history with the controller as actor. Once
// the brokers answer again, `orbit rollout resume` continues and the rollout completes.
func TestRolloutPausesOnKafkaDegraded(t *testing.T) {
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) { c.RolloutInterval = 200 * time.Millisecond })
	e.satConfig = func(cfg *devstack.SatelliteConfig) { cfg.KafkaHealthInterval = 300 * time.Millisecond }
	ctx := context.Background()
	sats := map[string]*devstack.SatelliteNode{}
	for _, region := range []string{"us-west-2", "eu-west-1", "ap-south-1"} {
		sats[region] = e.startSatellite(region)
	}
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	ops, _ := api.NewClient(e.cp.URL(), opKey, nil)
	// b and c: on the satellite whose clusters degrade at the new revision; a and d: the
	// wave after them.
	regions := map[string]string{"a": "us-west-2", "b": "eu-west-1", "c": "eu-west-1", "d": "ap-south-1"}
	clusters := map[string]*api.Cluster{}
	for _, name := range []string{"a", "b", "c", "d"} {
		c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", CKU: 1, Region: regions[name]})
		if err != nil {
			t.Fatal(err)
		}
		clusters[name] = c
	}
	for name := range clusters {
		e.waitFor(name, 60*time.Second, readyWith(3))
	}
	pid := func(name string) string { return physicalID(clusters[name]) }
	image := func(name string) string { return brokerImage(t, sats[regions[name]], clusters[name]) }
	key := func(name string) string {
		return kv.Key{Satellite: regions[name], Product: kv.ProductKafka, Cluster: pid(name)}.String()
	}
	desired := func(name string) *kv.PSC {
		t.Helper()
		entry, err := e.bucket(kv.BucketDesired).Get(ctx, key(name))
		if err != nil {
			t.Fatal(err)
		}
		psc, err := kv.DecodePSC(entry.Value())
		if err != nil {
			t.Fatal(err)
		}
		return psc
	}
	before := map[string]*kv.PSC{"a": desired("a"), "d": desired("d")}

	// The new revision. Its own default rollout finds every cluster pinned and changes
	// none; unpinned, they are the rollout's under test: eu-west-1's clusters first, then
	// the rest, with a budget of one failure.
	for name := range clusters {
		if err := ops.PinCluster(ctx, pid(name), true); err != nil {
			t.Fatal(err)
		}
	}
	prof, err := ops.SetProfileRollout(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.1", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		got, err := ops.GetRollout(ctx, prof.Rollout)
		if err != nil {
			return err
		}
		pinned := 0
		for _, w := range got.Progress {
			pinned += w.Counts[api.TargetPinned]
		}
		if got.State != api.RolloutComplete || pinned != len(clusters) {
			return fmt.Errorf("the default rollout: %s %+v", got.State, got.Progress)
		}
		return nil
	})
	for name := range clusters {
		if err := ops.PinCluster(ctx, pid(name), false); err != nil {
			t.Fatal(err)
		}
	}
	kafkaOf := func(name string) *simkafka.Cluster {
		k, ok := sats[regions[name]].Kafka.Get(pid(name))
		if !ok {
			t.Fatalf("no simulated Kafka for %s", name)
		}
		return k
	}
	bad := map[string]*simkafka.Cluster{"b": kafkaOf("b"), "c": kafkaOf("c")}
	// The fault: while it runs, a cluster of eu-west-1 whose satellite reports the new
	// revision has broker 1 fenced (again after any restart of the broker).
	fenceCtx, stopFencing := context.WithCancel(ctx)
	var fencing sync.WaitGroup
	fenced := map[string]bool{}
	var fencedMu sync.Mutex
	actual := e.bucket(kv.BucketActual)
	fencing.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for name, k := range bad {
				entry, err := actual.Get(fenceCtx, key(name))
				if err != nil {
					continue
				}
				if st, err := kv.DecodeStatus(entry.Value()); err == nil && st.ProfileRevision == prof.Revision {
					k.Fence(1, true)
					fencedMu.Lock()
					fenced[name] = true
					fencedMu.Unlock()
				}
			}
			select {
			case <-fenceCtx.Done():
				return
			case <-tick.C:
			}
		}
	})
	stopFault := func() {
		stopFencing()
		fencing.Wait()
		for _, k := range bad {
			k.Fence(1, false)
		}
	}
	defer stopFault()

	start := time.Now()
	ro, err := ops.CreateRollout(ctx, api.RolloutRequest{Product: "kafka", SKU: "dedicated", Strategy: &api.RolloutStrategy{
		Waves: []api.Wave{{Name: "eu", Selector: &api.Selector{Satellites: []string{"eu-west-1"}}}, {Name: "rest"}},
		Soak:  api.Duration(2 * time.Second), ProgressDeadline: api.Duration(30 * time.Second), FailureBudget: "1"}})
	if err != nil {
		t.Fatal(err)
	}

	// The budget is spent: paused, naming both failing clusters, with what Kafka said.
	var paused *api.Rollout
	testkit.CheckFor(t, 60*time.Second, func() error {
		got, err := ops.GetRollout(ctx, ro.ID)
		if err != nil {
			return err
		}
		if got.State != api.RolloutPaused {
			return fmt.Errorf("rollout %s wave %d (%s): %+v", got.State, got.Wave, got.Reason, got.Progress)
		}
		paused = got
		return nil
	})
	t.Logf("paused after %s: %s", time.Since(start).Round(time.Second), paused.Reason)
	for _, name := range []string{"b", "c"} {
		if !strings.Contains(paused.Reason, pid(name)) {
			t.Errorf("the reason does not name %s (%s): %s", name, pid(name), paused.Reason)
		}
		if tg := targetOf(*paused, pid(name)); tg.State != api.TargetFailed || !strings.Contains(tg.Reason, string(kv.PhaseDegraded)) {
			t.Errorf("%s: %+v", name, tg)
		}
		fencedMu.Lock()
		if !fenced[name] {
			t.Errorf("%s failed without the harness fencing its broker", name)
		}
		fencedMu.Unlock()
	}
	if !strings.Contains(paused.Reason, "failure budget of 1 spent") || !strings.Contains(paused.Reason, "1001") {
		t.Errorf("the reason does not say the budget is spent and which broker Kafka lost: %s", paused.Reason)
	}
	// The wave after keeps the old revision: not started, its desired state untouched.
	for _, name := range []string{"a", "d"} {
		if tg := targetOf(*paused, pid(name)); tg.State != api.TargetWaiting || tg.StartedAt != nil {
			t.Errorf("%s while paused: %+v", name, tg)
		}
		if d := desired(name); d.Generation != before[name].Generation || d.Spec.ProfileRevision != before[name].Spec.ProfileRevision ||
			d.Spec.Version != "3.9.0" || image(name) != "apache/kafka:3.9.0" {
			t.Errorf("%s while paused: generation %d revision %d version %s image %s; before: generation %d revision %d", name,
				d.Generation, d.Spec.ProfileRevision, d.Spec.Version, image(name), before[name].Generation, before[name].Spec.ProfileRevision)
		}
	}
	// The pause is in the history, with the controller as actor, through the CLI too.
	if !hasHistory(*paused, rollout.ActionPaused, rollout.Actor) {
		t.Errorf("history while paused: %+v", paused.History)
	}
	out, _, err := e.orbitAs(opKey, "rollout", "get", ro.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !historyLine(out, rollout.Actor, rollout.ActionPaused, pid("b")) {
		t.Errorf("orbit rollout get does not show the pause by %s:\n%s", rollout.Actor, out)
	}
	// Paused: ten steps of the controller later, nothing more started.
	time.Sleep(2 * time.Second)
	if got, err := ops.GetRollout(ctx, ro.ID); err != nil || got.State != api.RolloutPaused || targetOf(*got, pid("d")).StartedAt != nil {
		t.Fatalf("a paused rollout moved on: %v %+v", err, got)
	}

	// Fixed: the brokers answer again; resumed, the rollout continues and completes.
	stopFault()
	for _, name := range []string{"b", "c"} {
		e.waitFor(name, 30*time.Second, readyWith(3))
	}
	if out, _, err := e.orbitAs(opKey, "rollout", "resume", ro.ID); err != nil {
		t.Fatalf("rollout resume: %v\n%s", err, out)
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		got, err := ops.GetRollout(ctx, ro.ID)
		if err != nil {
			return err
		}
		if got.State != api.RolloutComplete {
			return fmt.Errorf("rollout %s wave %d (%s): %+v", got.State, got.Wave, got.Reason, got.Progress)
		}
		return nil
	})
	t.Logf("complete after %s", time.Since(start).Round(time.Second))
	for name := range clusters {
		if img := image(name); img != "apache/kafka:3.9.1" {
			t.Errorf("%s runs %s after the rollout", name, img)
		}
	}
	for name := range clusters {
		if d := desired(name); d.Spec.ProfileRevision != prof.Revision {
			t.Errorf("%s's desired revision %d, want %d", name, d.Spec.ProfileRevision, prof.Revision)
		}
	}
	// The history, in time order: the controller's pause, the user's resume, then the
	// controller's next wave and completion.
	got := getRollout(t, e, opKey, ro.ID)
	var seq []string
	for i, h := range got.History {
		if i > 0 && h.At.Before(got.History[i-1].At) {
			t.Errorf("history out of time order at %d: %+v", i, got.History)
		}
		seq = append(seq, h.Actor+":"+h.Action)
	}
	ctl := func(action string) string { return rollout.Actor + ":" + action }
	pause, resume := slices.Index(seq, ctl(rollout.ActionPaused)), slices.Index(seq, got.CreatedBy+":resume")
	last, done := slices.Index(seq, ctl(rollout.ActionWaveStarted)), slices.Index(seq, ctl(rollout.ActionCompleted))
	for i := last + 1; i < len(seq); i++ {
		if seq[i] == ctl(rollout.ActionWaveStarted) {
			last = i // the last wave's start
		}
	}
	if pause < 0 || resume < pause || last < resume || done < last {
		t.Errorf("history: %q", seq)
	}
}

// historyLine reports whether `orbit rollout get`'s text output has a history line by the
// actor with the action whose detail mentions word.
func historyLine(out, actor, action, word string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == actor && f[2] == action && strings.Contains(line, word) {
			return true
		}
	}
	return false
}
