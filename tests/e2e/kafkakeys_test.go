package e2e

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/api"
)

// TestKafkaAPIKeysSealedAtRest creates a Kafka API key and checks what the mothership kept:
// the secret nowhere in the database; the SCRAM-SHA-512 credential derived from it (4096
// iterations, the user named by the key id) sealed, opening with the control plane's curve
// key only; the listing without the secret; a revoke recorded once.
func TestKafkaAPIKeysSealedAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "keys", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.client.CreateKafkaAPIKey(ctx, "keys", api.KafkaAPIKeyRequest{Description: "app"})
	if err != nil {
		t.Fatal(err)
	}
	if k.Secret == "" || !strings.HasPrefix(k.ID, "kk-") || k.ClusterID != c.ID || k.Mechanism != kv.MechanismSCRAMSHA512 {
		t.Fatalf("created %+v", k)
	}
	row, err := dbtest.Q(e.cp.Store).GetKafkaAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	own, err := mothership.LoadCredentialKey(filepath.Join(e.dir, "mothership", "credential-key"))
	if err != nil {
		t.Fatal(err)
	}
	if pub, _ := own.PublicKey(); row.SealedBy != pub {
		t.Fatalf("sealed by %s, the control plane's key is %s", row.SealedBy, pub)
	}
	cred, err := kv.OpenKafkaCredential(row.Sealed, own, row.SealedBy)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := pbkdf2.Key(sha512.New, k.Secret, cred.Salt, 4096, 64)
	if cred.User != k.ID || cred.Iterations != 4096 || !bytes.Equal(cred.SaltedPassword, want) {
		t.Fatalf("the sealed credential is not the secret's SCRAM-SHA-512 credential: %v", cred)
	}
	text := databaseText(t, e)
	for what, s := range map[string]string{
		"secret": k.Secret, "salted password": string(cred.SaltedPassword),
		"salted password (hex)": hex.EncodeToString(cred.SaltedPassword), "salted password (base64)": base64.StdEncoding.EncodeToString(cred.SaltedPassword),
	} {
		if strings.Contains(text, s) {
			t.Errorf("the database holds the %s", what)
		}
	}
	list, err := e.client.ListKafkaAPIKeys(ctx, "keys")
	if err != nil || len(list) != 1 || list[0].Secret != "" || list[0].ID != k.ID {
		t.Fatalf("listed %+v %v", list, err)
	}
	for range 2 {
		r, err := e.client.RevokeKafkaAPIKey(ctx, "keys", k.ID)
		if err != nil || r.RevokedAt == nil || r.Secret != "" {
			t.Fatalf("revoked %+v %v", r, err)
		}
	}
	var revokes int
	if err := e.cp.Store.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE subject = 'events.kafkakey."+c.ID+"'").Scan(&revokes); err != nil || revokes != 2 {
		t.Fatalf("kafka key events: %d %v (want create and one revoke)", revokes, err)
	}
}
