package e2e

import (
	"context"
	"crypto/md5" //nolint:gosec // Jetty's MD5: credential form, which the test verifies
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestRESTAPIKeys is REST API keys on a ksqlDB and a Connect cluster in dev mode, through
// the CLI: each key is answered once with its secret; the satellite writes the cluster's
// rest-users Secret with exactly the live keys' lines (ksqlDB: Jetty's "MD5:<hex>,user",
// which verifies against the secret; Connect: the secret, which its login module compares
// in plain, after a user no request can name), rewrites it when someone edits it, and
// drops a revoked key's line. The sealed credential opens only with the target
// satellite's curve key. No secret (nor ksqlDB's MD5 field) appears in the logs, the CLI's
// listing, the database, the buckets or the PSC objects. Malformed bodies get a 400
// naming the field and create nothing.
func TestRESTAPIKeys(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, func(c *devstack.ControlPlaneConfig) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "k", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	type worker struct {
		name, product, mechanism string
		// field is the users-file password field a secret gives.
		field func(secret string) string
		role  string
		// head starts the users file: for Connect, whose login module admits every request
		// when the file has no user, a user whose name has a colon, which no basic-auth
		// header can name.
		head string
	}
	workers := []worker{
		{"streams", "ksqldb", kv.MechanismRESTMD5, func(s string) string {
			sum := md5.Sum([]byte(s)) //nolint:gosec // Jetty's MD5: form
			return "MD5:" + hex.EncodeToString(sum[:])
		}, ",user", ""},
		{"sink", "connect", kv.MechanismRESTPlain, func(s string) string { return s }, "",
			"# Connect admits every request when this file has no user: this one no request can name.\norbit\\:refuse-all: -\n"},
	}
	secrets := map[string]string{}
	var listings string // the CLI's key listings
	for _, w := range workers {
		if _, progress, err := e.orbit("cluster", "create", w.name, "--product", w.product, "--cku", "1", "--region", "us-west-2", "--kafka", "k"); err != nil {
			t.Fatalf("cluster create %s: %v\n%s", w.name, err, progress)
		}
		c, err := e.client.GetCluster(ctx, w.name)
		if err != nil {
			t.Fatal(err)
		}
		ns := satellite.Namespace("p" + c.ID[1:])
		create := func(desc string) api.KafkaAPIKey {
			t.Helper()
			out, _, err := e.orbit("cluster", "api-key", "create", w.name, "--description", desc, "-o", "json")
			if err != nil {
				t.Fatal(err)
			}
			var k api.KafkaAPIKey
			if err := json.Unmarshal([]byte(out), &k); err != nil || k.Secret == "" || !strings.HasPrefix(k.ID, "rk-") ||
				k.Mechanism != w.mechanism || k.ClusterID != c.ID {
				t.Fatalf("api-key create %s -o json: %v\n%s", w.name, err, out)
			}
			secrets[w.product+" key "+k.ID] = k.Secret
			if w.product == "ksqldb" {
				secrets["ksqlDB MD5 field of "+k.ID] = w.field(k.Secret)
			}
			return k
		}
		users := func() (string, error) {
			s, err := sat.Kube.CoreV1().Secrets(ns).Get(ctx, "rest-users", metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			return string(s.Data["users.properties"]), nil
		}
		// hasExactly waits until the users file holds exactly the keys' lines, each of which
		// verifies against its key's secret.
		hasExactly := func(keys ...api.KafkaAPIKey) {
			t.Helper()
			want := w.head
			// The satellite writes the lines in id order.
			sorted := slices.SortedFunc(slices.Values(keys), func(a, b api.KafkaAPIKey) int { return strings.Compare(a.ID, b.ID) })
			for _, k := range sorted {
				want += k.ID + ": " + w.field(k.Secret) + w.role + "\n"
			}
			testkit.CheckFor(t, 30*time.Second, func() error {
				got, err := users()
				if err != nil {
					return err
				}
				if got == want {
					return nil
				}
				// Say which users differ, not what their lines hold.
				var users []string
				for line := range strings.Lines(strings.TrimPrefix(got, w.head)) {
					id, _, _ := strings.Cut(line, ":")
					users = append(users, id)
				}
				return fmt.Errorf("%s users file has users %v, want exactly %d keys' lines, each verifying against its secret", w.name, users, len(keys))
			})
		}
		hasExactly()
		first := create("first")
		hasExactly(first)

		// Someone edits the Secret: a user of their own, the key's line changed. The
		// satellite rewrites it.
		s, err := sat.Kube.CoreV1().Secrets(ns).Get(ctx, "rest-users", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Data["users.properties"] = []byte("intruder: MD5:00000000000000000000000000000000,user\n" + first.ID + ": guessed,user\n")
		if _, err := sat.Kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		hasExactly(first)

		second := create("second")
		hasExactly(first, second)
		if _, _, err := e.orbit("cluster", "api-key", "revoke", w.name, first.ID); err != nil {
			t.Fatal(err)
		}
		hasExactly(second)

		// The sealed form opens with this satellite's curve key only.
		entry, err := e.bucket(kv.BucketCredentials).Get(ctx, kv.CredentialKey{Satellite: "us-west-2", Product: kv.Product(w.product),
			Cluster: "p" + c.ID[1:], KeyID: second.ID}.String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := kv.DecodeSealedCredential(entry.Value())
		if err != nil {
			t.Fatal(err)
		}
		seed, _, err := devstack.LoadOrCreateCurveSeed(filepath.Join(e.dir, "satellites", "us-west-2", devstack.CurveSeedFile))
		if err != nil {
			t.Fatal(err)
		}
		own := curveKeyPair(t, seed)
		cred, err := sc.Open(own, e.cp.CredentialSender)
		if err != nil || cred.Password != w.field(second.Secret) || cred.Mechanism != w.mechanism {
			t.Fatalf("the satellite opened %v: %v", cred, err)
		}
		stranger, _, err := devstack.LoadOrCreateCurveSeed(filepath.Join(t.TempDir(), devstack.CurveSeedFile))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Open(curveKeyPair(t, stranger), e.cp.CredentialSender); err == nil {
			t.Fatal("another curve key opened a REST credential")
		}

		// Malformed bodies: a 400 naming the field, and no key.
		for field, body := range map[string]string{"secret": `{"secret":"mine"}`, "description": `{"description":"a\nb"}`, "body": `{"description":`} {
			req, _ := http.NewRequest("POST", e.cp.URL()+"/v1/clusters/"+w.name+"/api-keys", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var eb api.ErrorBody
			if err := json.Unmarshal(got, &eb); err != nil || resp.StatusCode != http.StatusBadRequest || eb.Error.Field != field {
				t.Errorf("%s %s: %d %s", w.name, body, resp.StatusCode, got)
			}
		}
		list, _, err := e.orbit("cluster", "api-key", "list", w.name, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var listed []api.KafkaAPIKey
		if err := json.Unmarshal([]byte(list), &listed); err != nil || len(listed) != 2 {
			t.Fatalf("%s keys after malformed creates: %v %s", w.name, err, list)
		}
		listings += list
	}

	places := map[string]string{
		"logs":               logs.String(),
		"CLI listings":       listings,
		"database":           databaseText(t, e),
		"desired bucket":     bucketText(t, e, kv.BucketDesired),
		"actual bucket":      bucketText(t, e, kv.BucketActual),
		"credentials bucket": bucketText(t, e, kv.BucketCredentials),
		"PSC objects":        pscText(t, sat),
	}
	// Positive controls: the search is real.
	if !strings.Contains(places["logs"], "us-west-2") || !strings.Contains(places["CLI listings"], "rk-") || !strings.Contains(places["credentials bucket"], "rk-") ||
		!strings.Contains(places["PSC objects"], "ksqldb") {
		t.Fatal("a place searched for secrets does not hold what it should")
	}
	for where, text := range places {
		for what, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}
}

// curveKeyPair is the curve key pair of a seed.
func curveKeyPair(t *testing.T, seed []byte) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.FromCurveSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}
