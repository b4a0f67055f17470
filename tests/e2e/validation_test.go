package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/mothership/api"
)

// TestInvalidRequestsChangeNothing sends every kind of bad request and checks each gets a
// 4xx that names the field, and that nothing was written: no cluster, no outbox event.
func TestInvalidRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 64)
	goodDoc := "apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: good}\nspec: {product: kafka, cku: 1, region: us-west-2}\n"
	cases := []struct {
		name, method, path, ctype, body string
		code                            int
		field                           string
	}{
		{"dot in name", "POST", "/v1/clusters", "application/json", `{"name":"a.b","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"wildcard in name", "POST", "/v1/clusters", "application/json", `{"name":"a*","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"full wildcard in name", "POST", "/v1/clusters", "application/json", `{"name":">","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"upper case name", "POST", "/v1/clusters", "application/json", `{"name":"Demo","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"space in name", "POST", "/v1/clusters", "application/json", `{"name":"a b","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"name too long", "POST", "/v1/clusters", "application/json", `{"name":"` + long + `","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"empty name", "POST", "/v1/clusters", "application/json", `{"name":"","product":"kafka","cku":1,"region":"us-west-2"}`, 400, "name"},
		{"unknown product", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"spark","cku":1,"region":"us-west-2"}`, 400, "product"},
		{"cku zero", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":0,"region":"us-west-2"}`, 400, "cku"},
		{"cku too big", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":1000,"region":"us-west-2"}`, 400, "cku"},
		{"cku not a number", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":"two","region":"us-west-2"}`, 400, "cku"},
		{"region with a dot", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":1,"region":"us.west"}`, 400, "region"},
		{"unknown field", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":1,"region":"us-west-2","brokers":9}`, 400, "brokers"},
		{"unknown network", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":1,"region":"us-west-2","network":"carrier-pigeon"}`, 400, "network"},
		{"malformed JSON", "POST", "/v1/clusters", "application/json", `{"name":`, 400, "body"},
		{"trailing data", "POST", "/v1/clusters", "application/json", `{"name":"a","product":"kafka","cku":1,"region":"us-west-2"} {}`, 400, "body"},
		{"oversized body", "POST", "/v1/clusters", "application/json", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body"},
		{"resize without cku", "PATCH", "/v1/clusters/good", "application/json", `{}`, 400, "cku"},
		{"resize unknown field", "PATCH", "/v1/clusters/good", "application/json", `{"cku":2,"region":"eu"}`, 400, "region"},
		{"bad name in path", "GET", "/v1/clusters/UPPER", "", "", 400, "name"},
		{"malformed YAML", "POST", "/v1/apply", "application/yaml", "apiVersion: orbit.dev/v1\nkind: [\n", 400, "documents[0]"},
		{"YAML unknown field", "POST", "/v1/apply", "application/yaml", "apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: a}\nspec: {product: kafka, cku: 1, region: us-west-2, brokers: 3}\n", 400, "documents[0].spec.brokers"},
		{"YAML bad name", "POST", "/v1/apply", "application/yaml", "apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: A.B}\nspec: {product: kafka, cku: 1, region: us-west-2}\n", 400, "documents[0].metadata.name"},
		{"YAML duplicate key", "POST", "/v1/apply", "application/yaml", "apiVersion: orbit.dev/v1\nkind: Cluster\nkind: Cluster\nmetadata: {name: a}\nspec: {product: kafka, cku: 1, region: us-west-2}\n", 400, "documents[0]"},
		{"YAML wrong kind", "POST", "/v1/apply", "application/yaml", "apiVersion: orbit.dev/v1\nkind: Topic\nmetadata: {name: a}\nspec: {product: kafka, cku: 1, region: us-west-2}\n", 400, "documents[0].kind"},
		// One bad document spoils the whole apply: the good one before it is not written.
		{"YAML second document bad", "POST", "/v1/apply", "application/yaml", goodDoc + "---\napiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: b}\nspec: {product: kafka, cku: 99, region: us-west-2}\n", 400, "documents[1].spec.cku"},
		{"YAML same name twice", "POST", "/v1/apply", "application/yaml", goodDoc + "---\n" + goodDoc, 400, "documents[1].metadata.name"},
		{"YAML empty", "POST", "/v1/apply", "application/yaml", "# nothing\n", 400, "documents"},
		{"kafka key unknown cluster", "POST", "/v1/clusters/nope/api-keys", "application/json", `{}`, 404, "name"},
		{"kafka key bad cluster name", "POST", "/v1/clusters/UPPER/api-keys", "application/json", `{}`, 400, "name"},
		{"kafka key unknown field", "POST", "/v1/clusters/nope/api-keys", "application/json", `{"secret":"mine"}`, 400, "secret"},
		{"kafka key malformed JSON", "POST", "/v1/clusters/nope/api-keys", "application/json", `{"description":`, 400, "body"},
		{"kafka key multi-line description", "POST", "/v1/clusters/nope/api-keys", "application/json", `{"description":"a\nb"}`, 400, "description"},
		{"kafka key list unknown cluster", "GET", "/v1/clusters/nope/api-keys", "", "", 404, "name"},
		{"kafka key revoke unknown cluster", "DELETE", "/v1/clusters/nope/api-keys/kk-abc", "", "", 404, "name"},
		{"kafka key revoke bad id", "DELETE", "/v1/clusters/nope/api-keys/KK.1", "", "", 400, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, e.cp.URL()+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testKey)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var eb api.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if resp.StatusCode != tc.code || eb.Error.Field != tc.field || !strings.Contains(eb.Error.Message, tc.field) {
				t.Fatalf("got %d field %q message %q; want %d naming %q", resp.StatusCode, eb.Error.Field, eb.Error.Message, tc.code, tc.field)
			}
		})
	}

	ctx := context.Background()
	if list, err := e.client.ListClusters(ctx); err != nil || len(list) != 0 {
		t.Fatalf("clusters after bad requests: %v %v", list, err)
	}
	if rows, err := dbtest.Q(e.cp.Store).ListPendingOutbox(ctx, 100); err != nil || len(rows) != 0 {
		t.Fatalf("outbox after bad requests: %v %v", rows, err)
	}
	var kafkaKeys int
	if err := e.cp.Store.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM kafka_api_keys").Scan(&kafkaKeys); err != nil || kafkaKeys != 0 {
		t.Fatalf("kafka api keys after bad requests: %d %v", kafkaKeys, err)
	}
	if n, err := e.cp.Store.DB().QueryContext(ctx, "SELECT id FROM outbox"); err != nil {
		t.Fatal(err)
	} else {
		defer n.Close()
		if n.Next() {
			t.Fatal("an outbox row was written")
		}
	}
}

// TestUnauthenticated checks requests without a valid key are refused.
func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"", "orbit_notakey", "Bearer"} {
		c, err := api.NewClient(e.cp.URL(), key, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListClusters(context.Background())
		var se *api.StatusError
		if !errorsAs(err, &se) || se.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: %v", key, err)
		}
	}
}
