package usage

import (
	"context"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// TestMeterBillsRunningStateAcrossHours runs the meter on a clock it controls: a ready
// 2-CKU cluster accrues 2 CKU-seconds a second, split at the hour boundary; a cluster
// half-way through a resize from 3 to 6 brokers is billed for what runs; a cluster that is
// not running is not billed.
func TestMeterBillsRunningStateAcrossHours(t *testing.T) {
	for dialect, store := range hubtest.OpenStores(t) {
		t.Run(string(dialect), func(t *testing.T) { testMeter(t, store) })
	}
}

func testMeter(t *testing.T, store *db.Store) {
	ctx := context.Background()
	q := dbtest.Q(store)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(q.InsertTenant(ctx, db.InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1}))
	add := func(id string, cku, replicas, running int64, phase kv.Phase) {
		must(q.InsertLogicalCluster(ctx, db.InsertLogicalClusterParams{ID: "l" + id, TenantID: "t1", Name: id, Product: "kafka",
			Sku: "dedicated", Cku: cku, Region: "r", Cloud: "aws", Network: "public", Now: 1}))
		must(q.InsertPhysicalCluster(ctx, db.InsertPhysicalClusterParams{ID: "p" + id, Product: "kafka", Sku: "dedicated",
			Region: "r", Cloud: "aws", Network: "public", Version: "3.9.0", Replicas: replicas, StorageGib: 10, Config: "{}", Tenants: "[]", Generation: 1, Now: 1}))
		must(q.InsertTenancy(ctx, db.InsertTenancyParams{LogicalClusterID: "l" + id, PhysicalClusterID: "p" + id, CreatedAt: 1}))
		must(q.UpsertClusterStatus(ctx, db.UpsertClusterStatusParams{PhysicalClusterID: "p" + id, Satellite: "s", ObservedGeneration: 1,
			Phase: string(phase), Replicas: running, ReadyReplicas: running, Conditions: "[]", KvRevision: 1}))
	}
	add("ready", 2, 6, 6, kv.PhaseReady)
	add("resizing", 2, 6, 3, kv.PhaseReady) // 1 CKU's worth running
	add("down", 2, 6, 6, kv.PhaseProvisioning)

	clock := time.Date(2026, 11, 22, 9, 59, 30, 0, time.UTC)
	m := New(store, time.Minute, testkit.Logger())
	m.now = func() time.Time { return clock }
	must(m.tick(ctx)) // sets the cursor
	clock = clock.Add(90 * time.Second)
	must(m.tick(ctx)) // 30 s in the 09:00 hour, 60 s in the 10:00 hour

	rows := map[string]int64{}
	for _, hour := range []time.Time{time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} {
		usage, err := q.ListUsage(ctx, db.ListUsageParams{TenantID: "t1", FromHour: hour.UnixMilli(), ToHour: hour.Add(time.Hour).UnixMilli()})
		must(err)
		for _, u := range usage {
			rows[hour.Format("15")+"/"+u.Name] = u.CkuMs / 1000
			if u.Name == "ready" && u.StorageGibMs != u.CkuMs/2*6*10 {
				t.Errorf("storage %d GiB-ms for %d CKU-ms", u.StorageGibMs, u.CkuMs)
			}
		}
	}
	want := map[string]int64{"09/ready": 60, "10/ready": 120, "09/resizing": 30, "10/resizing": 60}
	if len(rows) != len(want) {
		t.Fatalf("usage rows %v, want %v", rows, want)
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("%s: %d CKU-seconds, want %d", k, rows[k], v)
		}
	}
}
