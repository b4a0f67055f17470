package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
)

// TestAuthorizationMatrix sends every endpoint with every kind of caller and checks the
// status: no key and a revoked key are unauthenticated; a viewer reads; an admin of another
// tenant finds nothing of ours (as if it did not exist); an admin does all on its tenant; an
// operator also sees the fleet. Cross-tenant reads reveal nothing.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	e.startSatellite("us-west-2")
	ctx := context.Background()
	keys := authzCallers(t, e)
	admin, _ := api.NewClient(e.cp.URL(), testKey, nil)
	shared, err := admin.CreateCluster(ctx, api.ClusterSpec{Name: "shared", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	kafkaKey, err := admin.CreateKafkaAPIKey(ctx, "shared", api.KafkaAPIKeyRequest{Description: "matrix"})
	if err != nil {
		t.Fatal(err)
	}
	// A ksqlDB cluster (on a Kafka cluster of its own, which the matrix does not delete) and
	// a REST key of it.
	if _, err := admin.CreateCluster(ctx, api.ClusterSpec{Name: "backing", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateCluster(ctx, api.ClusterSpec{Name: "streams", Product: "ksqldb", CKU: 1, Region: "us-west-2", Kafka: "backing"}); err != nil {
		t.Fatal(err)
	}
	restKey, err := admin.CreateKafkaAPIKey(ctx, "streams", api.KafkaAPIKeyRequest{Description: "matrix"})
	if err != nil {
		t.Fatal(err)
	}
	checkAuthzMatrix(t, e, keys, shared.ID, kafkaKey.ID, restKey.ID)

	// The other tenant's clusters are its own: it can have a "shared" of its own.
	rival, _ := api.NewClient(e.cp.URL(), keys["other"], nil)
	if _, err := rival.CreateCluster(ctx, api.ClusterSpec{Name: "shared", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatalf("a tenant cannot use a name another tenant uses: %v", err)
	}
	mine, _ := admin.GetCluster(ctx, "shared")
	theirs, _ := rival.GetCluster(ctx, "shared")
	if mine.ID == theirs.ID {
		t.Fatal("two tenants' clusters of the same name are one")
	}
	// Only the admin's create made Kafka keys (the one above and one in the matrix); the
	// rival's cluster of the same name has none, and no listing carries a secret.
	kafkaKeys, err := admin.ListKafkaAPIKeys(ctx, "shared")
	if err != nil || len(kafkaKeys) != 2 {
		t.Fatalf("kafka keys of shared: %+v %v", kafkaKeys, err)
	}
	for _, k := range kafkaKeys {
		if k.Secret != "" {
			t.Fatalf("a listed kafka key carries its secret: %+v", k)
		}
		if (k.ID == kafkaKey.ID) != (k.RevokedAt != nil) {
			t.Fatalf("only %s should be revoked: %+v", kafkaKey.ID, k)
		}
	}
	if theirKeys, err := rival.ListKafkaAPIKeys(ctx, "shared"); err != nil || len(theirKeys) != 0 {
		t.Fatalf("the rival's cluster has kafka keys: %+v %v", theirKeys, err)
	}
	// Likewise the ksqlDB cluster's REST keys: the one above, revoked, and the matrix's.
	restKeys, err := admin.ListKafkaAPIKeys(ctx, "streams")
	if err != nil || len(restKeys) != 2 {
		t.Fatalf("REST keys of streams: %+v %v", restKeys, err)
	}
	for _, k := range restKeys {
		if k.Secret != "" || (k.ID == restKey.ID) != (k.RevokedAt != nil) {
			t.Fatalf("REST key %+v (only %s should be revoked, none listed with its secret)", k, restKey.ID)
		}
	}
	// Keys never come back after creation.
	keysNow, _ := admin.ListAPIKeys(ctx)
	for _, k := range keysNow {
		if k.Key != "" {
			t.Fatalf("a listed key carries its secret: %+v", k)
		}
	}
}

// authzCallers mints a key for each kind of caller, by name: admin (of tenant e2e), viewer
// (of e2e), other (admin of tenant rival), operator, revoked (an e2e admin key revoked) and
// none ("": no key).
func authzCallers(t *testing.T, e *env) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys := map[string]string{"admin": testKey}
	mint := func(name, tenant, role string) {
		k := frontend.NewAPIKey()
		if err := frontend.EnsureAPIKey(ctx, e.cp.Store, tenant, role, k, name); err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	mint("viewer", "e2e", api.RoleViewer)
	mint("other", "rival", api.RoleAdmin)
	mint("operator", "ops", api.RoleOperator)
	mint("revoked", "e2e", api.RoleAdmin)
	admin, _ := api.NewClient(e.cp.URL(), testKey, nil)
	list, err := admin.ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range list {
		if k.Description == "revoked" {
			if _, err := admin.RevokeAPIKey(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	keys["none"] = ""
	return keys
}

// authzRow is a request and the status each caller gets.
type authzRow struct {
	method, path, body string
	want               map[string]int
}

// authzMatrix is every endpoint, with the status each caller gets; "%d" in a body is
// replaced by a number unique to the request.
func authzMatrix(kafkaKeyID, restKeyID, physical string) []authzRow {
	const (
		create = `{"name":"m%d","product":"kafka","cku":1,"region":"us-west-2"}`
		doc    = "apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: applied}\nspec: {product: kafka, cku: 1, region: us-west-2}\n"
	)
	readOK := map[string]int{"none": 401, "revoked": 401, "viewer": 200, "other": 200, "admin": 200, "operator": 200}
	operatorOnly := func(ok int) map[string]int {
		return map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 403, "admin": 403, "operator": ok}
	}
	named := func(ok int) map[string]int {
		return map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 404, "admin": ok, "operator": 404}
	}
	return []authzRow{
		{"GET", "/v1/clusters", "", readOK},
		{"GET", "/v1/clusters/shared", "", map[string]int{"none": 401, "revoked": 401, "viewer": 200, "other": 404, "admin": 200, "operator": 404}},
		{"POST", "/v1/clusters", create, map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 201, "admin": 201, "operator": 201}},
		{"PATCH", "/v1/clusters/shared", `{"cku":2}`, named(200)},
		{"POST", "/v1/clusters/shared/rotate-certificates", "", named(200)},
		{"POST", "/v1/clusters/shared/api-keys", `{"description":"k%d"}`, named(201)},
		{"GET", "/v1/clusters/shared/api-keys", "", map[string]int{"none": 401, "revoked": 401, "viewer": 200, "other": 404, "admin": 200, "operator": 404}},
		{"DELETE", "/v1/clusters/shared/api-keys/" + kafkaKeyID, "", named(200)},
		// REST keys of a ksqlDB cluster: the same paths, the same rules.
		{"POST", "/v1/clusters/streams/api-keys", `{"description":"k%d"}`, named(201)},
		{"GET", "/v1/clusters/streams/api-keys", "", map[string]int{"none": 401, "revoked": 401, "viewer": 200, "other": 404, "admin": 200, "operator": 404}},
		{"DELETE", "/v1/clusters/streams/api-keys/" + restKeyID, "", named(200)},
		// Another cluster's key id under this cluster's path is not found.
		{"DELETE", "/v1/clusters/streams/api-keys/" + kafkaKeyID, "", named(404)},
		{"POST", "/v1/apply", doc, map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 200, "admin": 200, "operator": 200}},
		{"DELETE", "/v1/clusters/shared", "", named(202)},
		{"POST", "/v1/clusters/shared/undelete", "", named(200)},
		{"GET", "/v1/clusters?all=true", "", map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 403, "admin": 403, "operator": 200}},
		{"GET", "/v1/satellites", "", map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 403, "admin": 403, "operator": 200}},
		{"GET", "/v1/controllers", "", map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 403, "admin": 403, "operator": 200}},
		{"GET", "/v1/apikeys", "", map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 200, "admin": 200, "operator": 200}},
		{"POST", "/v1/apikeys", `{"role":"viewer"}`, map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 201, "admin": 201, "operator": 201}},
		{"POST", "/v1/apikeys", `{"role":"operator"}`, map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 403, "admin": 403, "operator": 201}},
		{"POST", "/v1/apikeys", `{"role":"viewer","tenant":"rival"}`, map[string]int{"none": 401, "revoked": 401, "viewer": 403, "other": 201, "admin": 403, "operator": 201}},
		// Rollouts, labels and pins act on every tenant's clusters: operators only. Windows:
		// tenant admins for their own dedicated clusters, operators for satellites and regions.
		{"GET", "/v1/rollouts", "", operatorOnly(200)},
		{"POST", "/v1/rollouts", `{"product":"kafka","sku":"dedicated","strategy":{"allAtOnce":true}}`, operatorOnly(201)},
		{"GET", "/v1/rollouts/ro-missing", "", operatorOnly(404)},
		{"POST", "/v1/rollouts/ro-missing/actions", `{"action":"pause"}`, operatorOnly(404)},
		{"PATCH", "/v1/physical-clusters/" + physical + "/labels", `{"labels":{"canary":"true"}}`, operatorOnly(200)},
		{"PUT", "/v1/physical-clusters/" + physical + "/pin", `{"pinned":false}`, operatorOnly(200)},
		{"GET", "/v1/windows", "", readOK},
		{"PUT", "/v1/windows", `{"scope":"region:us-west-2"}`, operatorOnly(200)},
		{"PUT", "/v1/windows", `{"scope":"cluster:shared","weekly":[{"day":"sat","start":"02:00","duration":"4h"}]}`, named(200)},
		{"DELETE", "/v1/windows/cluster:shared", "", named(204)},
	}
}

// checkAuthzMatrix sends every request of the matrix as every caller and checks the
// status; nothing of tenant e2e (its cluster sharedID) may show to the rival tenant.
func checkAuthzMatrix(t *testing.T, e *env, keys map[string]string, sharedID, kafkaKeyID, restKeyID string) {
	t.Helper()
	callers := []string{"none", "revoked", "viewer", "other", "operator", "admin"} // admin last: it changes "shared"
	n := 0
	for _, r := range authzMatrix(kafkaKeyID, restKeyID, "p"+sharedID[1:]) {
		for _, who := range callers {
			n++
			body := r.body
			if strings.Contains(body, "%d") {
				body = fmt.Sprintf(body, n)
			}
			req, _ := http.NewRequest(r.method, e.cp.URL()+r.path, strings.NewReader(body))
			if keys[who] != "" {
				req.Header.Set("Authorization", "Bearer "+keys[who])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != r.want[who] {
				t.Errorf("%s %s as %s: %d, want %d (%s)", r.method, r.path, who, resp.StatusCode, r.want[who], strings.TrimSpace(string(got)))
			}
			if who == "other" && strings.Contains(string(got), sharedID) {
				t.Errorf("%s %s as another tenant revealed %s", r.method, r.path, got)
			}
		}
	}
}
