package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestResizeBurstConverges sends 2 → 4 → 2 → 6 CKUs back to back: the cluster ends at 6
// CKUs (18 brokers), the satellite applies at most one of the states in between, and no
// broker the final state keeps is drained: none stops, none is unregistered, and no
// partition that a rebalance spread beyond the first six brokers is moved back onto them.
func TestResizeBurstConverges(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine))
			sat := e.startSatellite("us-west-2")
			ctx := context.Background()
			if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "burst", Product: "kafka", CKU: 2, Region: "us-west-2"}); err != nil {
				t.Fatal(err)
			}
			c0 := e.waitFor("burst", 30*time.Second, readyWith(6))
			id := strings.TrimPrefix(physicalKeyOf(t, e, "us-west-2"), "us-west-2.kafka.")
			harness, ok := sat.Kafka.Get(id)
			if !ok {
				t.Fatalf("no harness cluster %s", id)
			}
			adm := superAdmin(t, sat, id, c0)
			testkit.CheckFor(t, 20*time.Second, func() error {
				res, err := adm.CreateTopic(ctx, 12, 3, nil, "orders")
				if err == nil && res.Err != nil && !isTopicExists(res.Err) {
					err = res.Err
				}
				return err
			})
			cs := sat.Kube.(*fake.Clientset)
			cs.ClearActions()
			for _, cku := range []int{4, 2, 6} {
				if _, err := e.client.UpdateCluster(ctx, "burst", api.ClusterUpdate{CKU: ptr(cku)}); err != nil {
					t.Fatal(err)
				}
			}
			c := e.waitFor("burst", 60*time.Second, readyWith(18))
			if c.Generation != 4 || c.CKU != 6 {
				t.Fatalf("generation %d, cku %d", c.Generation, c.CKU)
			}
			var applied []int32
			for _, a := range cs.Actions() {
				p, ok := a.(k8stesting.PatchAction)
				if !ok || a.GetResource().Resource != "statefulsets" || p.GetName() != "kafka-broker" || a.GetSubresource() != "" {
					continue
				}
				var sts struct {
					Spec struct {
						Replicas *int32 `json:"replicas"`
					} `json:"spec"`
				}
				if json.Unmarshal(p.GetPatch(), &sts) == nil && sts.Spec.Replicas != nil {
					applied = append(applied, *sts.Spec.Replicas)
				}
			}
			if len(applied) == 0 || applied[len(applied)-1] != 18 || len(applied) > 2 {
				t.Fatalf("the satellite applied broker counts %v; want the final 18 and at most one state in between", applied)
			}
			t.Logf("broker counts applied during the burst: %v", applied)
			if u := harness.Unregistered(); len(u) != 0 {
				t.Errorf("brokers unregistered during the burst: %v", u)
			}
			for b := int32(1000); b < 1018; b++ {
				if s := harness.Stops(b); len(s) != 0 {
					t.Errorf("broker %d stopped during the burst", b)
				}
			}
			spread := map[string]bool{}
			for _, m := range harness.Reassignments() {
				key := fmt.Sprintf("%s/%d", m.Topic, m.Partition)
				beyond := slices.ContainsFunc(m.Replicas, func(b int32) bool { return b >= 1006 })
				if spread[key] && !beyond {
					t.Errorf("%s moved back onto brokers 0–5: %v", key, m.Replicas)
				}
				spread[key] = spread[key] || beyond
			}
			if len(spread) == 0 {
				t.Error("no reassignment spread the topic over the new brokers")
			}
		})
	}
}
