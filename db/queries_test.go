package db

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/orbitcp/orbit/db/internal/queries"
)

// TestEveryQueryOnBothEngines runs every query of queries/*.sql on each engine, through a
// recorder that proves none was skipped, and checks what each returns: the store layer's
// mapping (generated) and its error translation behave the same on SQLite and PostgreSQL.
func TestEveryQueryOnBothEngines(t *testing.T) {
	for dialect, s := range openTestStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			// Outside a transaction: on PostgreSQL the statements that must fail (a unique
			// violation) would abort it.
			rec := &recorder{q: queries.Of(s.Reader()), called: map[string]int{}}
			exerciseQueries(t, rec)
			all := reflect.TypeFor[queries.Queries]()
			for i := range all.NumMethod() {
				if name := all.Method(i).Name; rec.called[name] == 0 {
					t.Errorf("the suite never ran %s", name)
				}
			}
		})
	}
}

func exerciseQueries(t *testing.T, q queries.Queries) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	null := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

	// Meta: each key of its own.
	epoch, err := q.GetOutboxEpoch(ctx)
	must(err)
	must(q.InsertOutboxEpoch(ctx, "other")) // does nothing: the epoch is set once
	again, _ := q.GetOutboxEpoch(ctx)
	want("epoch after a second insert", again, epoch)
	must(q.SetOutboxEpoch(ctx, "renewed")) // after a restore
	renewed, _ := q.GetOutboxEpoch(ctx)
	want("epoch after a renewal", renewed, "renewed")
	must(q.SetOutboxEpoch(ctx, epoch))
	if _, err := q.GetUsageCursor(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("usage cursor before any: %v, want ErrNotFound", err)
	}
	must(q.SetUsageCursor(ctx, "1"))
	must(q.SetUsageCursor(ctx, "2"))
	cursor, _ := q.GetUsageCursor(ctx)
	want("usage cursor", cursor, "2")

	// Tenants and API keys.
	must(q.InsertTenant(ctx, InsertTenantParams{ID: "t1", Name: "acme", CreatedAt: 1}))
	if err := q.InsertTenant(ctx, InsertTenantParams{ID: "t2", Name: "acme", CreatedAt: 1}); !errors.Is(err, ErrUniqueViolation) {
		t.Errorf("duplicate tenant name: %v, want ErrUniqueViolation", err)
	}
	tenant, err := q.GetTenantByName(ctx, "acme")
	must(err)
	want("tenant", tenant.ID, "t1")
	must(q.InsertAPIKey(ctx, InsertAPIKeyParams{ID: "k1", TenantID: "t1", Role: "admin", Description: "d", SecretHash: []byte{1, 2}, CreatedAt: 5}))
	byHash, err := q.GetAPIKeyByHash(ctx, []byte{1, 2})
	must(err)
	want("key by hash", byHash, GetAPIKeyByHashRow{ID: "k1", TenantID: "t1", Role: "admin", TenantName: "acme"})
	// Console sessions: live until they expire or their key is revoked.
	must(q.InsertConsoleSession(ctx, InsertConsoleSessionParams{IDHash: []byte{7}, ApiKeyID: "k1", CreatedAt: 5, ExpiresAt: 100}))
	must(q.InsertConsoleSession(ctx, InsertConsoleSessionParams{IDHash: []byte{8}, ApiKeyID: "k1", CreatedAt: 5, ExpiresAt: 8}))
	sess, err := q.GetConsoleSession(ctx, GetConsoleSessionParams{IDHash: []byte{7}, Now: 6})
	must(err)
	want("console session", sess, GetConsoleSessionRow{ApiKeyID: "k1", TenantID: "t1", Role: "admin", TenantName: "acme", ExpiresAt: 100})
	if _, err := q.GetConsoleSession(ctx, GetConsoleSessionParams{IDHash: []byte{8}, Now: 8}); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired console session: %v, want ErrNotFound", err)
	}
	n, err := q.DeleteExpiredConsoleSessions(ctx, 8)
	must(err)
	want("expired console sessions deleted", n, int64(1))
	n, err = q.RevokeAPIKey(ctx, RevokeAPIKeyParams{ID: "k1", Now: 9})
	must(err)
	want("keys revoked", n, int64(1))
	if _, err := q.GetConsoleSession(ctx, GetConsoleSessionParams{IDHash: []byte{7}, Now: 10}); !errors.Is(err, ErrNotFound) {
		t.Errorf("console session of a revoked key: %v, want ErrNotFound", err)
	}
	n, err = q.DeleteConsoleSession(ctx, []byte{7})
	must(err)
	want("console sessions deleted", n, int64(1))
	key, err := q.GetAPIKey(ctx, "k1")
	must(err)
	want("revoked key", key.RevokedAt, sql.NullInt64{Int64: 9, Valid: true})
	keys, err := q.ListAPIKeys(ctx, "t1")
	must(err)
	want("keys", len(keys), 1)
	if _, err := q.GetAPIKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v, want ErrNotFound", err)
	}

	// Logical clusters, their history and dependents.
	lc := func(id, name, product string, kafka sql.NullString) {
		must(q.InsertLogicalCluster(ctx, InsertLogicalClusterParams{ID: id, TenantID: "t1", Name: name, Product: product, Sku: "dedicated",
			Cku: 1, Region: "r", Cloud: "aws", Network: "public", KafkaClusterID: kafka, Now: 10}))
	}
	lc("lkc-1", "orders", "kafka", sql.NullString{})
	lc("lksqlc-1", "streams", "ksqldb", null("lkc-1"))
	l, err := q.GetLogicalCluster(ctx, "lkc-1")
	must(err)
	want("generation", l.Generation, int64(1))
	n, err = q.ResizeLogicalCluster(ctx, ResizeLogicalClusterParams{ID: "lkc-1", Cku: 2, Now: 11})
	must(err)
	want("resized", n, int64(1))
	n, err = q.RotateLogicalClusterCertificates(ctx, RotateLogicalClusterCertificatesParams{ID: "lkc-1", Now: 12})
	must(err)
	want("rotated", n, int64(1))
	n, err = q.SetLogicalClusterMitigation(ctx, SetLogicalClusterMitigationParams{ID: "lkc-1", Mitigation: "off", Now: 13})
	must(err)
	want("mitigation set", n, int64(1))
	live, err := q.GetLiveLogicalClusterByName(ctx, GetLiveLogicalClusterByNameParams{TenantID: "t1", Name: "orders"})
	must(err)
	want("after resize, rotation and mitigation", []int64{live.Cku, live.TlsSerial, live.Generation}, []int64{2, 1, 4})
	want("mitigation", live.Mitigation, "off")
	deps, err := q.ListLiveDependents(ctx, "lkc-1")
	must(err)
	want("dependents", len(deps), 1)
	tenantLive, err := q.ListLiveLogicalClusters(ctx, "t1")
	must(err)
	everyLive, err := q.ListAllLiveLogicalClusters(ctx)
	must(err)
	want("live clusters", []int{len(tenantLive), len(everyLive)}, []int{2, 2})
	byProfile, err := q.ListLogicalClusterIDsByProfile(ctx, ListLogicalClusterIDsByProfileParams{Product: "kafka", Sku: "dedicated"})
	must(err)
	want("by profile", byProfile, []string{"lkc-1"})
	ids, err := q.ListLogicalClusterIDs(ctx)
	must(err)
	want("logical ids", ids, []string{"lkc-1", "lksqlc-1"})
	must(q.InsertClusterHistory(ctx, InsertClusterHistoryParams{LogicalClusterID: "lkc-1", TenantID: "t1", At: 10, Actor: "k1", Action: "create", AfterState: "{}"}))
	hist, err := q.ListClusterHistoryByName(ctx, ListClusterHistoryByNameParams{TenantID: "t1", Name: "orders"})
	must(err)
	want("history", len(hist), 1)
	n, err = q.DeleteLogicalCluster(ctx, DeleteLogicalClusterParams{ID: "lksqlc-1", Now: 20})
	must(err)
	want("deleted", n, int64(1))
	if _, err := q.GetLiveLogicalClusterByName(ctx, GetLiveLogicalClusterByNameParams{TenantID: "t1", Name: "streams"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted cluster still live: %v", err)
	}
	latest, err := q.GetLatestLogicalClusterByName(ctx, GetLatestLogicalClusterByNameParams{TenantID: "t1", Name: "streams"})
	must(err)
	want("deleted at", latest.DeletedAt, sql.NullInt64{Int64: 20, Valid: true})
	n, err = q.UndeleteLogicalCluster(ctx, UndeleteLogicalClusterParams{ID: "lksqlc-1", Now: 21})
	must(err)
	want("undeleted", n, int64(1))

	// Profiles.
	if _, err := q.GetCurrentProfile(ctx, GetCurrentProfileParams{Product: "kafka", Sku: "dedicated"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("profile before any: %v", err)
	}
	must(q.InsertProfile(ctx, InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: 1, Spec: "{}", CreatedAt: 1, CreatedBy: "k1"}))
	must(q.InsertProfile(ctx, InsertProfileParams{Product: "kafka", Sku: "dedicated", Version: 2, Spec: `{"v":2}`, CreatedAt: 2, CreatedBy: "k1"}))
	prof, err := q.GetCurrentProfile(ctx, GetCurrentProfileParams{Product: "kafka", Sku: "dedicated"})
	must(err)
	want("current profile", prof.Version, int64(2))

	// Physical clusters, tenancies, generations.
	pc := func(id, product string, kafka sql.NullString) {
		must(q.InsertPhysicalCluster(ctx, InsertPhysicalClusterParams{ID: id, Product: product, Sku: "dedicated", Region: "r", Cloud: "aws",
			Network: "public", Version: "3.9.0", Replicas: 3, Controllers: 3, StorageGib: 10, Config: "{}", KafkaPhysicalID: kafka,
			Tenants: "[]", Generation: 1, Now: 10}))
	}
	pc("pkc-1", "kafka", sql.NullString{})
	pc("pksqlc-1", "ksqldb", null("pkc-1"))
	must(q.InsertTenancy(ctx, InsertTenancyParams{LogicalClusterID: "lkc-1", PhysicalClusterID: "pkc-1", CreatedAt: 10}))
	tenancy, err := q.GetTenancy(ctx, "lkc-1")
	must(err)
	want("tenancy", tenancy.PhysicalClusterID, "pkc-1")
	byLogical, err := q.GetPhysicalClusterByLogical(ctx, "lkc-1")
	must(err)
	want("physical of lkc-1", byLogical.ID, "pkc-1")
	tenants, err := q.ListLiveTenants(ctx, "pkc-1")
	must(err)
	want("tenants", tenants, []string{"lkc-1"})

	// Kafka API keys: listed per logical cluster; the live ones of a physical cluster
	// through its tenancies; revoked once.
	for i, id := range []string{"kk-b", "kk-a"} {
		must(q.InsertKafkaAPIKey(ctx, InsertKafkaAPIKeyParams{ID: id, LogicalClusterID: "lkc-1", TenantID: "t1", Description: "d",
			Mechanism: "SCRAM-SHA-512", Iterations: 4096, Sealed: []byte{1, 2, byte(i)}, SealedBy: "X", CreatedAt: int64(20 + i)}))
	}
	kk, err := q.GetKafkaAPIKey(ctx, "kk-a")
	must(err)
	want("kafka key", kk.Sealed, []byte{1, 2, 1})
	if _, err := q.GetKafkaAPIKey(ctx, "kk-none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing kafka key: %v", err)
	}
	kks, err := q.ListKafkaAPIKeys(ctx, "lkc-1")
	must(err)
	want("kafka keys", len(kks), 2)
	want("kafka keys order", kks[0].ID, "kk-b")
	n, err = q.RevokeKafkaAPIKey(ctx, RevokeKafkaAPIKeyParams{ID: "kk-b", Now: 30})
	must(err)
	want("revoked kafka keys", n, int64(1))
	n, err = q.RevokeKafkaAPIKey(ctx, RevokeKafkaAPIKeyParams{ID: "kk-b", Now: 31})
	must(err)
	want("revoked again", n, int64(0))
	liveKeys, err := q.ListLiveKafkaAPIKeysByPhysical(ctx, "pkc-1")
	must(err)
	want("live kafka keys", len(liveKeys), 1)
	want("live kafka key", liveKeys[0].ID, "kk-a")
	shared, err := q.FindSharedPhysicalCluster(ctx, FindSharedPhysicalClusterParams{Product: "kafka", Sku: "dedicated", Region: "r", Cloud: "aws", Network: "public", MaxTenants: 2})
	must(err)
	want("room on", shared, "pkc-1")
	if _, err := q.FindSharedPhysicalCluster(ctx, FindSharedPhysicalClusterParams{Product: "kafka", Sku: "dedicated", Region: "r", Cloud: "aws", Network: "public", MaxTenants: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a full cluster offered room: %v", err)
	}
	n, err = q.UpdatePhysicalCluster(ctx, UpdatePhysicalClusterParams{ID: "pkc-1", Version: "3.9.0", Replicas: 6, Controllers: 3, StorageGib: 10,
		Config: "{}", Tenants: "[]", Generation: 2, PreviousGeneration: 1, Now: 11})
	must(err)
	want("updated at generation 2", n, int64(1))
	n, err = q.UpdatePhysicalCluster(ctx, UpdatePhysicalClusterParams{ID: "pkc-1", Version: "3.9.0", Replicas: 9, Generation: 2, PreviousGeneration: 1, Config: "{}", Tenants: "[]", Now: 12})
	must(err)
	want("a stale generation changes nothing", n, int64(0))
	p, err := q.GetPhysicalCluster(ctx, "pkc-1")
	must(err)
	want("replicas", p.Replicas, int64(6))
	must(q.InsertPhysicalGeneration(ctx, InsertPhysicalGenerationParams{PhysicalClusterID: "pkc-1", Generation: 2, LogicalClusterID: "lkc-1", LogicalGeneration: 3}))
	observed, err := q.ObservedLogicalGeneration(ctx, ObservedLogicalGenerationParams{PhysicalClusterID: "pkc-1", LogicalClusterID: "lkc-1", ObservedGeneration: 2})
	must(err)
	want("observed", observed, int64(3))
	physIDs, err := q.ListPhysicalClusterIDs(ctx)
	must(err)
	want("physical ids", physIDs, []string{"pkc-1", "pksqlc-1"})
	physDeps, err := q.ListPhysicalDependentIDs(ctx, "pkc-1")
	must(err)
	want("physical dependents", physDeps, []string{"pksqlc-1"})

	// Placements and load.
	must(q.UpsertPlacement(ctx, UpsertPlacementParams{PhysicalClusterID: "pkc-1", Reason: "pending", Now: 1}))
	must(q.UpsertPlacement(ctx, UpsertPlacementParams{PhysicalClusterID: "pkc-1", Satellite: null("eu"), Reason: "placed", Now: 2}))
	pl, err := q.GetPlacement(ctx, "pkc-1")
	must(err)
	want("placement", pl.Satellite, null("eu"))
	load, err := q.CountPlacedBySatellite(ctx)
	must(err)
	want("load", load, []CountPlacedBySatelliteRow{{Satellite: null("eu"), Clusters: 1, Replicas: 6}})
	on, err := q.CountPlacedOnSatellite(ctx, null("eu"))
	must(err)
	want("load on eu", on, CountPlacedOnSatelliteRow{Clusters: 1, Replicas: 6})

	// Status, only newer revisions; metering.
	st := UpsertClusterStatusParams{PhysicalClusterID: "pkc-1", Satellite: "eu", ObservedGeneration: 2, Phase: "ready", Replicas: 6, ReadyReplicas: 6, Conditions: "[]", KvRevision: 5,
		DataUsage: `{"partitions":3,"bytes":9}`}
	must(q.UpsertClusterStatus(ctx, st))
	older := st
	older.Phase, older.KvRevision = "provisioning", 4
	must(q.UpsertClusterStatus(ctx, older))
	status, err := q.GetClusterStatus(ctx, "pkc-1")
	must(err)
	want("status kept the newer revision", status.Phase, "ready")
	// After a restore the recorded revisions are forgotten: a fresh hub's first report wins.
	must(q.ForgetStatusRevisions(ctx))
	fresh := st
	fresh.Phase, fresh.KvRevision = "provisioning", 1
	must(q.UpsertClusterStatus(ctx, fresh))
	status, err = q.GetClusterStatus(ctx, "pkc-1")
	must(err)
	want("a fresh hub's report after the revisions were forgotten", status.Phase, "provisioning")
	st.KvRevision = 5
	must(q.UpsertClusterStatus(ctx, st))
	metered, err := q.ListMeteredClusters(ctx)
	must(err)
	want("metered", metered, []ListMeteredClustersRow{{ID: "lkc-1", TenantID: "t1", Cku: 2, Sku: "dedicated", Replicas: 6, StorageGib: 10, Phase: "ready", RunningReplicas: 6,
		DataUsage: `{"partitions":3,"bytes":9}`}})

	// Rollouts: what users asked, labels, pins, windows; the controller's status, targets
	// and each cluster's target revision.
	p2, err := q.GetProfile(ctx, GetProfileParams{Product: "kafka", Sku: "dedicated", Version: 1})
	must(err)
	want("profile revision 1", p2.Spec, "{}")
	lids, err := q.ListTenancyLogicalIDs(ctx, "pkc-1")
	must(err)
	want("tenancy logical ids", lids, []string{"lkc-1"})
	must(q.InsertRollout(ctx, InsertRolloutParams{ID: "ro-1", Product: "kafka", Sku: "dedicated", Revision: 2, Kind: "rollout",
		Selector: "{}", Strategy: "{}", RequestedState: "running", Now: 20, CreatedBy: "k1"}))
	must(q.InsertRolloutHistory(ctx, InsertRolloutHistoryParams{RolloutID: "ro-1", At: 20, Actor: "k1", Action: "rollout", Detail: "d"}))
	rhist, err := q.ListRolloutHistory(ctx, "ro-1")
	must(err)
	want("rollout history", len(rhist), 1)
	// The controller's events: one per key, a replay changes nothing.
	must(q.InsertRolloutEvent(ctx, InsertRolloutEventParams{RolloutID: "ro-1", Key: "paused/1", At: 21, Actor: "rollout-controller", Action: "paused", Detail: "budget"}))
	must(q.InsertRolloutEvent(ctx, InsertRolloutEventParams{RolloutID: "ro-1", Key: "completed", At: 22, Actor: "rollout-controller", Action: "completed", Detail: "done"}))
	must(q.InsertRolloutEvent(ctx, InsertRolloutEventParams{RolloutID: "ro-1", Key: "paused/1", At: 23, Actor: "rollout-controller", Action: "paused", Detail: "again"}))
	must(q.InsertRolloutEvent(ctx, InsertRolloutEventParams{RolloutID: "ro-2", Key: "paused/1", At: 24, Actor: "rollout-controller", Action: "paused", Detail: "other"}))
	revs, err := q.ListRolloutEvents(ctx, "ro-1")
	must(err)
	var evs []string
	for _, e := range revs {
		evs = append(evs, e.Key+" "+e.Detail+" "+e.Actor)
	}
	want("rollout events", evs, []string{"paused/1 budget rollout-controller", "completed done rollout-controller"})
	active, err := q.ListActiveRollouts(ctx)
	must(err)
	want("active before the controller saw it", len(active), 1)
	must(q.UpsertRolloutStatus(ctx, UpsertRolloutStatusParams{RolloutID: "ro-1", State: "complete", Waves: 1, RequestSeq: 1, UpdatedAt: 21}))
	active, _ = q.ListActiveRollouts(ctx)
	want("active once complete", len(active), 0)
	must(q.UpdateRolloutRequest(ctx, UpdateRolloutRequestParams{ID: "ro-1", RequestedState: "running", FinalizeRequested: 1, Now: 22}))
	ro, err := q.GetRollout(ctx, "ro-1")
	must(err)
	want("request seq", ro.RequestSeq, int64(2))
	active, _ = q.ListActiveRollouts(ctx)
	want("active with a request to act on", len(active), 1)
	rs, err := q.GetRolloutStatus(ctx, "ro-1")
	must(err)
	want("rollout status", rs.State, "complete")
	all, err := q.ListRollouts(ctx)
	must(err)
	want("rollouts", len(all), 1)
	must(q.UpsertClusterLabel(ctx, UpsertClusterLabelParams{PhysicalClusterID: "pkc-1", Key: "canary", Value: "false"}))
	must(q.UpsertClusterLabel(ctx, UpsertClusterLabelParams{PhysicalClusterID: "pkc-1", Key: "canary", Value: "true"}))
	must(q.UpsertClusterLabel(ctx, UpsertClusterLabelParams{PhysicalClusterID: "pkc-1", Key: "x", Value: "y"}))
	must(q.DeleteClusterLabel(ctx, DeleteClusterLabelParams{PhysicalClusterID: "pkc-1", Key: "x"}))
	labels, err := q.ListClusterLabels(ctx)
	must(err)
	want("labels", labels, []ClusterLabel{{PhysicalClusterID: "pkc-1", Key: "canary", Value: "true"}})
	must(q.UpsertClusterPin(ctx, UpsertClusterPinParams{PhysicalClusterID: "pkc-1", PinnedBy: "k1", PinnedAt: 1}))
	must(q.UpsertClusterPin(ctx, UpsertClusterPinParams{PhysicalClusterID: "pkc-1", PinnedBy: "k2", PinnedAt: 2}))
	pins, err := q.ListClusterPins(ctx)
	must(err)
	want("pins (the first pin kept)", pins, []ClusterPin{{PhysicalClusterID: "pkc-1", PinnedBy: "k1", PinnedAt: 1}})
	must(q.DeleteClusterPin(ctx, "pkc-1"))
	must(q.UpsertMaintenanceWindow(ctx, UpsertMaintenanceWindowParams{Scope: "region:r", Spec: "{}", UpdatedBy: "k1", UpdatedAt: 1}))
	must(q.UpsertMaintenanceWindow(ctx, UpsertMaintenanceWindowParams{Scope: "region:r", Spec: `{"weekly":[]}`, UpdatedBy: "k2", UpdatedAt: 2}))
	must(q.UpsertMaintenanceWindow(ctx, UpsertMaintenanceWindowParams{Scope: "region:s", Spec: "{}", UpdatedBy: "k1", UpdatedAt: 1}))
	must(q.DeleteMaintenanceWindow(ctx, "region:s"))
	wins, err := q.ListMaintenanceWindows(ctx)
	must(err)
	want("windows", wins, []MaintenanceWindow{{Scope: "region:r", Spec: `{"weekly":[]}`, UpdatedBy: "k2", UpdatedAt: 2}})
	cands, err := q.ListRolloutCandidates(ctx, ListRolloutCandidatesParams{Product: "kafka", Sku: "dedicated"})
	must(err)
	want("rollout candidates", cands, []ListRolloutCandidatesRow{{ID: "pkc-1", Region: "r", Satellite: "eu"}})
	tenantsOf, err := q.ListPhysicalTenants(ctx, ListPhysicalTenantsParams{Product: "kafka", Sku: "dedicated"})
	must(err)
	want("physical tenants", tenantsOf, []ListPhysicalTenantsRow{{PhysicalClusterID: "pkc-1", TenantID: "t1"}})
	must(q.InsertRolloutTarget(ctx, InsertRolloutTargetParams{RolloutID: "ro-1", PhysicalClusterID: "pkc-1", Satellite: "eu", State: "waiting"}))
	must(q.UpdateRolloutTarget(ctx, UpdateRolloutTargetParams{RolloutID: "ro-1", PhysicalClusterID: "pkc-1", Satellite: "eu", State: "rolling",
		StartedAt: sql.NullInt64{Int64: 30, Valid: true}}))
	targets, err := q.ListRolloutTargets(ctx, "ro-1")
	must(err)
	want("target", []any{targets[0].State, targets[0].StartedAt.Int64}, []any{"rolling", int64(30)})
	obs, err := q.ListRolloutObservations(ctx, "ro-1")
	must(err)
	want("observation", obs, []ListRolloutObservationsRow{{PhysicalClusterID: "pkc-1", State: "rolling", Generation: 2, PlacedOn: "eu",
		ObservedGeneration: 2, Phase: "ready", ReportedAt: 0}})
	// Only clusters in flight are observed: a done one is not.
	must(q.UpdateRolloutTarget(ctx, UpdateRolloutTargetParams{RolloutID: "ro-1", PhysicalClusterID: "pkc-1", Satellite: "eu", State: "done",
		StartedAt: sql.NullInt64{Int64: 30, Valid: true}, FinishedAt: sql.NullInt64{Int64: 40, Valid: true}}))
	if obs, err := q.ListRolloutObservations(ctx, "ro-1"); err != nil || len(obs) != 0 {
		t.Errorf("observations of a rollout with its one cluster done: %v %v", obs, err)
	}
	if _, err := q.GetClusterTarget(ctx, "pkc-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cluster target before any: %v", err)
	}
	must(q.UpsertClusterTarget(ctx, UpsertClusterTargetParams{PhysicalClusterID: "pkc-1", Revision: 1, RolloutID: "ro-0", UpdatedAt: 1}))
	must(q.UpsertClusterTarget(ctx, UpsertClusterTargetParams{PhysicalClusterID: "pkc-1", Revision: 2, RolloutID: "ro-1", UpdatedAt: 2}))
	ct, err := q.GetClusterTarget(ctx, "pkc-1")
	must(err)
	want("cluster target", []any{ct.Revision, ct.RolloutID}, []any{int64(2), "ro-1"})
	// Finalizing raises a cluster's metadata version, never lowers it.
	for _, level := range []int64{21, 20} {
		_, err := q.FinalizeClusterTarget(ctx, FinalizeClusterTargetParams{PhysicalClusterID: "pkc-1", MetadataVersion: level, UpdatedAt: 3})
		must(err)
	}
	fin, err := q.ListRolloutFinalization(ctx, "ro-1")
	must(err)
	want("finalization", fin, []ListRolloutFinalizationRow{{PhysicalClusterID: "pkc-1", MetadataVersion: 21, KafkaHealth: ""}})
	must(q.AddUsage(ctx, AddUsageParams{TenantID: "t1", Hour: 0, LogicalClusterID: "lkc-1", CkuMs: 5, StorageGibMs: 7, PartitionMs: 3}))
	must(q.AddUsage(ctx, AddUsageParams{TenantID: "t1", Hour: 0, LogicalClusterID: "lkc-1", CkuMs: 5, StorageGibMs: 7, PartitionMs: 3}))
	usage, err := q.ListUsage(ctx, ListUsageParams{TenantID: "t1", FromHour: 0, ToHour: 1})
	must(err)
	want("usage adds up", usage, []ListUsageRow{{Hour: 0, LogicalClusterID: "lkc-1", Name: "orders", CkuMs: 10, StorageGibMs: 14, PartitionMs: 6}})

	// Satellites.
	must(q.UpsertSatellite(ctx, UpsertSatelliteParams{Name: "eu", Region: "r", Cloud: "aws", Networks: "public", Nkey: "U1", CreatedAt: 1}))
	must(q.UpsertSatellite(ctx, UpsertSatelliteParams{Name: "eu", Region: "r", Cloud: "aws", Networks: "public", Nkey: "U2", CurveKey: "X2", CreatedAt: 2}))
	curveKey, err := q.GetSatelliteCurveKey(ctx, "eu")
	must(err)
	want("satellite curve key after a rotation", curveKey, "X2")
	sats, err := q.ListSatellites(ctx)
	must(err)
	want("satellite nkey after a rotation", []string{sats[0].Name, sats[0].Nkey}, []string{"eu", "U2"})
	n, err = q.RevokeSatellite(ctx, RevokeSatelliteParams{Name: "eu", Now: 3})
	must(err)
	want("revoked satellites", n, int64(1))
	if sats, _ := q.ListSatellites(ctx); len(sats) != 0 {
		t.Errorf("a revoked satellite is still listed: %v", sats)
	}
	if _, err := q.GetSatelliteCurveKey(ctx, "eu"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a revoked satellite's curve key: %v, want ErrNotFound", err)
	}

	// Leader lease: taken when expired or by its holder, always with the next token;
	// renewed and released only with the token it was taken with.
	take := func(holder string, now int64) int64 {
		n, err := q.TakeLease(ctx, TakeLeaseParams{Name: "mothership", Holder: holder, ExpiresAt: now + 10, Now: now})
		must(err)
		return n
	}
	want("a free lease taken", take("a", 100), int64(1))
	want("a held lease taken by another", take("b", 105), int64(0))
	lease, err := q.GetLease(ctx, "mothership")
	must(err)
	want("lease", []any{lease.Holder, lease.Token}, []any{"a", int64(1)})
	n, err = q.RenewLease(ctx, RenewLeaseParams{Name: "mothership", Holder: "a", Token: 1, ExpiresAt: 200})
	must(err)
	want("renewed", n, int64(1))
	want("an expired lease taken over", take("b", 201), int64(1))
	n, err = q.RenewLease(ctx, RenewLeaseParams{Name: "mothership", Holder: "a", Token: 1, ExpiresAt: 300})
	must(err)
	want("a deposed holder renews", n, int64(0))
	n, err = q.ReleaseLease(ctx, ReleaseLeaseParams{Name: "mothership", Holder: "b", Token: 2})
	must(err)
	want("released", n, int64(1))
	want("a released lease taken", take("a", 202), int64(1))
	lease, _ = q.GetLease(ctx, "mothership")
	want("token after three terms", lease.Token, int64(3))

	// Outbox.
	id, err := q.InsertOutbox(ctx, InsertOutboxParams{Subject: "events.logical.lkc-1", Payload: []byte("{}"), Now: 1})
	must(err)
	pending, err := q.ListPendingOutbox(ctx, 10)
	must(err)
	if !slices.ContainsFunc(pending, func(o Outbox) bool { return o.ID == id }) {
		t.Errorf("outbox row %d not pending: %v", id, pending)
	}
	must(q.MarkOutboxPublished(ctx, MarkOutboxPublishedParams{ID: id, Now: 2}))
	n, err = q.DeletePublishedOutbox(ctx, 3)
	must(err)
	want("published rows cleaned", n, int64(1))
}
