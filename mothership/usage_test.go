package mothership

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
)

// TestMeterBillsRunningStateAcrossHours runs the meter on a clock it controls: a ready
// 2-CKU cluster accrues 2 CKU-seconds a second, split at the hour boundary; a cluster
// half-way through a resize from 3 to 6 brokers is billed for what runs; a cluster that is
// not running is not billed.
func TestMeterBillsRunningStateAcrossHours(t *testing.T) {
	ctx := context.Background()
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), "orbit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q := store.Q()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(q.InsertTenant(ctx, sqlitegen.InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1}))
	add := func(id string, cku, replicas, running int64, phase kv.Phase) {
		must(q.InsertLogicalCluster(ctx, sqlitegen.InsertLogicalClusterParams{ID: "l" + id, TenantID: "t1", Name: id, Product: "kafka",
			Sku: "dedicated", Cku: cku, Region: "r", Cloud: "aws", Network: "public", Now: 1}))
		must(q.InsertPhysicalCluster(ctx, sqlitegen.InsertPhysicalClusterParams{ID: "p" + id, Product: "kafka", Sku: "dedicated",
			Region: "r", Cloud: "aws", Network: "public", Version: "3.9.0", Replicas: replicas, StorageGib: 10, Config: "{}", Tenants: "[]", Generation: 1, Now: 1}))
		must(q.InsertTenancy(ctx, sqlitegen.InsertTenancyParams{LogicalClusterID: "l" + id, PhysicalClusterID: "p" + id, CreatedAt: 1}))
		must(q.UpsertClusterStatus(ctx, sqlitegen.UpsertClusterStatusParams{PhysicalClusterID: "p" + id, Satellite: "s", ObservedGeneration: 1,
			Phase: string(phase), Replicas: running, ReadyReplicas: running, Conditions: "[]", KvRevision: 1}))
	}
	add("ready", 2, 6, 6, kv.PhaseReady)
	add("resizing", 2, 6, 3, kv.PhaseReady) // 1 CKU's worth running
	add("down", 2, 6, 6, kv.PhaseProvisioning)

	clock := time.Date(2026, 11, 22, 9, 59, 30, 0, time.UTC)
	m := &meter{store: store, log: testLogger(), now: func() time.Time { return clock }}
	must(m.tick(ctx)) // sets the cursor
	clock = clock.Add(90 * time.Second)
	must(m.tick(ctx)) // 30 s in the 09:00 hour, 60 s in the 10:00 hour

	rows := map[string]int64{}
	for _, hour := range []time.Time{time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} {
		usage, err := q.ListUsage(ctx, sqlitegen.ListUsageParams{TenantID: "t1", FromHour: hour.UnixMilli(), ToHour: hour.Add(time.Hour).UnixMilli()})
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
