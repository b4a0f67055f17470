package usage

import (
	"context"
	"encoding/json"
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
func TestMeterBillsRunningStateAcrossHours(t *testing.T) { onEngines(t, testMeter) }

// onEngines runs test on a store of each database engine.
func onEngines(t *testing.T, test func(*testing.T, *db.Store)) {
	for dialect, store := range hubtest.OpenStores(t) {
		t.Run(string(dialect), func(t *testing.T) { test(t, store) })
	}
}

// mustOf fails t on an error.
func mustOf(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func testMeter(t *testing.T, store *db.Store) {
	ctx := context.Background()
	q, must := dbtest.Q(store), mustOf(t)
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

// TestMeterBillsTenantsTheirOwnData: on a shared cluster each tenant is billed the
// logical bytes and partitions of its own topics, as the satellite read them from Kafka,
// never the cluster's or the other tenant's; a dedicated cluster is billed its
// provisioned storage and all its partitions; a shared cluster not yet observed bills no
// storage rather than the whole cluster's.
func TestMeterBillsTenantsTheirOwnData(t *testing.T) { onEngines(t, testMeterData) }

func testMeterData(t *testing.T, store *db.Store) {
	ctx := context.Background()
	q, must := dbtest.Q(store), mustOf(t)
	for _, tenant := range []string{"ta", "tb", "tc"} {
		must(q.InsertTenant(ctx, db.InsertTenantParams{ID: tenant, Name: tenant, CreatedAt: 1}))
	}
	physical := func(id, sku string, data *kv.DataUsage) {
		must(q.InsertPhysicalCluster(ctx, db.InsertPhysicalClusterParams{ID: id, Product: "kafka", Sku: sku,
			Region: "r", Cloud: "aws", Network: "public", Version: "3.9.0", Replicas: 3, StorageGib: 100, Config: "{}", Tenants: "[]", Generation: 1, Now: 1}))
		var js []byte
		if data != nil {
			js, _ = json.Marshal(data)
		}
		must(q.UpsertClusterStatus(ctx, db.UpsertClusterStatusParams{PhysicalClusterID: id, Satellite: "s", ObservedGeneration: 1,
			Phase: string(kv.PhaseReady), Replicas: 3, ReadyReplicas: 3, Conditions: "[]", KvRevision: 1, DataUsage: string(js)}))
	}
	logical := func(id, tenant, sku, physicalID string) {
		must(q.InsertLogicalCluster(ctx, db.InsertLogicalClusterParams{ID: id, TenantID: tenant, Name: id, Product: "kafka",
			Sku: sku, Cku: 1, Region: "r", Cloud: "aws", Network: "public", Now: 1}))
		must(q.InsertTenancy(ctx, db.InsertTenancyParams{LogicalClusterID: id, PhysicalClusterID: physicalID, CreatedAt: 1}))
	}
	const gib = 1 << 30
	physical("pshared", "basic", &kv.DataUsage{Partitions: 60, Bytes: 30 * gib, Tenants: []kv.TenantUsage{
		{ID: "lkc-a", Partitions: 12, Bytes: 2 * gib}, {ID: "lkc-b", Partitions: 48, Bytes: 28 * gib}}})
	logical("lkc-a", "ta", "basic", "pshared")
	logical("lkc-b", "tb", "basic", "pshared")
	physical("pdedicated", "dedicated", &kv.DataUsage{Partitions: 7, Bytes: 5 * gib})
	logical("lkc-d", "tc", "dedicated", "pdedicated")
	physical("punseen", "standard", nil)
	logical("lkc-u", "tc", "standard", "punseen")

	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := New(store, time.Minute, testkit.Logger())
	m.now = func() time.Time { return clock }
	must(m.tick(ctx))
	clock = clock.Add(time.Minute)
	must(m.tick(ctx))

	type billed struct{ gibMs, partitionMs int64 }
	got := map[string]billed{}
	for _, tenant := range []string{"ta", "tb", "tc"} {
		rows, err := q.ListUsage(ctx, db.ListUsageParams{TenantID: tenant, FromHour: clock.Add(-time.Hour).UnixMilli(), ToHour: clock.Add(time.Hour).UnixMilli()})
		must(err)
		for _, r := range rows {
			got[r.LogicalClusterID] = billed{r.StorageGibMs, r.PartitionMs}
		}
	}
	const minute = 60_000
	want := map[string]billed{
		"lkc-a": {2 * minute, 12 * minute},  // its own 2 GiB and 12 partitions, not the cluster's 30 GiB
		"lkc-b": {28 * minute, 48 * minute}, // and the other tenant its own
		"lkc-d": {3 * 100 * minute, 7 * minute},
		"lkc-u": {0, 0},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s billed %+v, want %+v", id, got[id], w)
		}
	}
}
