package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/orbit/app"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/tests/testkit"
)

// orbit runs the CLI in-process against the environment, as a user would from a shell.
func (e *env) orbit(args ...string) (string, string, error) {
	e.t.Helper()
	return e.orbitAs(testKey, args...)
}

// orbitAs runs the CLI with the given API key.
func (e *env) orbitAs(key string, args ...string) (string, string, error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	a := app.New(&out, &errOut)
	full := append([]string{"orbit", "--server", e.cp.URL(), "--api-key", key}, args...)
	err := a.RunContext(context.Background(), cliargs.Interspersed(a, full))
	return out.String(), errOut.String(), err
}

// TestCLI walks the acceptance path of the walking skeleton through the orbit command line.
func TestCLI(t *testing.T) {
	e := newEnv(t)
	e.startSatellite("us-west-2")
	cliCreateAndGet(t, e)
	cliResizeAndList(t, e)
	cliApplyIsIdempotent(t, e)
	cliOperatorViews(t, e)
	if _, progress, err := e.orbit("cluster", "delete", "demo", "--wait"); err != nil || !strings.Contains(progress, "demo: deleted") {
		t.Fatalf("delete --wait: %v\n%s", err, progress)
	}
	cliErrorsNameTheField(t, e)
}

func cliCreateAndGet(t *testing.T, e *env) {
	t.Helper()
	_, progress, err := e.orbit("cluster", "create", "demo", "--product", "kafka", "--cku", "1", "--region", "us-west-2", "--wait")
	if err != nil {
		t.Fatalf("create --wait: %v\n%s", err, progress)
	}
	if !strings.Contains(progress, "demo: ready, 3/3 ready") {
		t.Errorf("create --wait progress does not end ready:\n%s", progress)
	}
	out, _, err := e.orbit("cluster", "get", "demo", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var c api.Cluster
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("get -o json: %v\n%s", err, out)
	}
	if c.ID == "" || c.Name != "demo" || c.Product != "kafka" || c.CKU != 1 || c.Region != "us-west-2" ||
		c.Status.Phase != api.PhaseReady || c.Status.ReadyBrokers != 3 || c.Status.ObservedGeneration != c.Generation {
		t.Fatalf("get -o json: %+v", c)
	}
}

func cliResizeAndList(t *testing.T, e *env) {
	t.Helper()
	if _, progress, err := e.orbit("cluster", "resize", "demo", "--cku", "2", "--wait"); err != nil {
		t.Fatalf("resize --wait: %v\n%s", err, progress)
	}
	var c api.Cluster
	out, _, _ := e.orbit("cluster", "get", "demo", "-o", "json")
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Status.ReadyBrokers != 6 || c.Generation != 2 {
		t.Fatalf("after resize: %v %+v", err, c.Status)
	}

	out, _, err := e.orbit("cluster", "list", "-o", "json")
	var list []api.Cluster
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Name != "demo" {
		t.Fatalf("list -o json: %v %s", err, out)
	}
	if out, _, err = e.orbit("cluster", "list", "-o", "yaml"); err != nil || !strings.Contains(out, "name: demo") {
		t.Fatalf("list -o yaml: %v %s", err, out)
	}
	if out, _, err = e.orbit("cluster", "list"); err != nil || !strings.Contains(out, "NAME") || !strings.Contains(out, "demo") {
		t.Fatalf("list (table): %v %s", err, out)
	}
}

// cliApplyIsIdempotent applies the same file twice.
func cliApplyIsIdempotent(t *testing.T, e *env) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "clusters.yaml")
	doc := `apiVersion: orbit.dev/v1
kind: Cluster
metadata:
  name: demo
spec:
  product: kafka
  cku: 2
  region: us-west-2
---
apiVersion: orbit.dev/v1
kind: Cluster
metadata:
  name: orders
spec:
  product: kafka
  cku: 1
  region: us-west-2
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := e.orbit("apply", "-f", file, "--wait")
	if err != nil || !strings.Contains(out, "cluster/demo") || !strings.Contains(out, "unchanged") || !strings.Contains(out, "cluster/orders") || !strings.Contains(out, "created") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, _, err = e.orbit("apply", "-f", file)
	if err != nil || strings.Count(out, "unchanged") != 2 {
		t.Fatalf("apply again: %v\n%s", err, out)
	}
}

// cliOperatorViews: operators see the satellites and whether the controllers have caught
// up; tenant admins do not.
func cliOperatorViews(t *testing.T, e *env) {
	t.Helper()
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(context.Background(), e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.orbit("controller", "list"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("controller list as a tenant admin: %v", err)
	}
	if out, _, err := e.orbitAs(opKey, "satellite", "list"); err != nil || !strings.Contains(out, "REGION") || !strings.Contains(out, "us-west-2") {
		t.Fatalf("satellite list: %v %s", err, out)
	}
	var out string
	if err := testkit.PollEvery(30*time.Second, 100*time.Millisecond, func() error {
		var err error
		out, _, err = e.orbitAs(opKey, "controller", "list", "-o", "json")
		var cs []api.Controller
		if err != nil || json.Unmarshal([]byte(out), &cs) != nil || len(cs) != 3 {
			t.Fatalf("controller list -o json: %v %s", err, out)
		}
		for _, c := range cs {
			if c.Pending != 0 || c.Unacked != 0 || c.Queued != 0 {
				return errors.New("not caught up")
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("controllers never caught up after the apply: %s", out)
	}
}

// cliErrorsNameTheField: errors name the field and exit non-zero.
func cliErrorsNameTheField(t *testing.T, e *env) {
	t.Helper()
	if _, _, err := e.orbit("cluster", "create", "Bad.Name", "--region", "us-west-2"); err == nil || !strings.Contains(err.Error(), "name:") {
		t.Errorf("create with a bad name: %v", err)
	}
	if _, _, err := e.orbit("cluster", "get", "nope"); err == nil || !api.IsNotFound(err) {
		t.Errorf("get of a missing cluster: %v", err)
	}
	if _, _, err := e.orbit("cluster", "get", "demo", "-o", "xml"); err == nil || app.ExitStatus(err) != 2 {
		t.Errorf("bad output format: %v", err)
	}
}

// TestCLIKafkaAPIKeys creates, lists and revokes a Kafka API key with the CLI: the secret is
// in the create answer only.
func TestCLIKafkaAPIKeys(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateCluster(context.Background(), api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	out, _, err := e.orbit("cluster", "api-key", "create", "demo", "--description", "app", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var k api.KafkaAPIKey
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.Secret == "" || k.ID == "" {
		t.Fatalf("create answered %q: %v", out, err)
	}
	list, _, err := e.orbit("cluster", "api-key", "list", "demo")
	if err != nil || !strings.Contains(list, k.ID) || strings.Contains(list, k.Secret) {
		t.Fatalf("list: %q %v", list, err)
	}
	revoked, _, err := e.orbit("cluster", "api-key", "revoke", "demo", k.ID, "-o", "json")
	if err != nil || !strings.Contains(revoked, "revokedAt") || strings.Contains(revoked, k.Secret) {
		t.Fatalf("revoke: %q %v", revoked, err)
	}
	if _, _, err := e.orbit("cluster", "api-key", "create", "nope"); err == nil {
		t.Fatal("a key was created on an unknown cluster")
	}
}
