package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/orbitcp/orbit/mothership/api"
)

// TestResizeBurstConverges sends 2 → 4 → 2 → 6 CKUs back to back: the cluster ends at 6
// CKUs (18 brokers) and the satellite applies at most one of the states in between.
func TestResizeBurstConverges(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine))
			sat := e.startSatellite("us-west-2")
			ctx := context.Background()
			if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "burst", Product: "kafka", CKU: 2, Region: "us-west-2"}); err != nil {
				t.Fatal(err)
			}
			e.waitFor("burst", 30*time.Second, readyWith(6))
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
		})
	}
}
