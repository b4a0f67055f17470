package e2e

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
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

// TestKafkaCredentialsSealedToTheirSatellite publishes a Kafka API key of a placed cluster:
// the credentials bucket holds it under <satellite>.kafka.<cluster>.<key>, sealed so that
// the target satellite's curve key opens it (the secret's SCRAM credential) and another
// satellite's does not; the satellite's own mirror receives it, the other satellite's does
// not; a revoke deletes it from the hub and the mirror. No secret is in the bucket.
func TestKafkaCredentialsSealedToTheirSatellite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sat := e.startSatellite("us-west-2")
	other := e.startSatellite("eu-west-1")
	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "sealed", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.client.CreateKafkaAPIKey(ctx, "sealed", api.KafkaAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	key := kv.CredentialKey{Satellite: "us-west-2", Cluster: "p" + c.ID[1:], KeyID: k.ID}.String()
	bucket := e.bucket(kv.BucketCredentials)
	var value []byte
	testkit.CheckFor(t, 30*time.Second, func() error {
		entry, err := bucket.Get(ctx, key)
		if err != nil {
			return err
		}
		value = entry.Value()
		return nil
	})
	sc, err := kv.DecodeSealedCredential(value)
	if err != nil {
		t.Fatal(err)
	}
	curve := func(name string) nkeys.KeyPair {
		seed, _, err := devstack.LoadOrCreateCurveSeed(filepath.Join(e.dir, "satellites", name, devstack.CurveSeedFile))
		if err != nil {
			t.Fatal(err)
		}
		kp, err := nkeys.FromCurveSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	cred, err := sc.Open(curve("us-west-2"), e.cp.CredentialSender)
	if err != nil {
		t.Fatalf("the target satellite cannot open its credential: %v", err)
	}
	want, _ := pbkdf2.Key(sha512.New, k.Secret, cred.Salt, kv.SCRAMIterations, 64)
	if cred.User != k.ID || sc.LogicalCluster != c.ID || !bytes.Equal(cred.SaltedPassword, want) {
		t.Fatalf("opened %v for %s, not the key's credential", cred, sc.LogicalCluster)
	}
	if _, err := sc.Open(curve("eu-west-1"), e.cp.CredentialSender); !errors.Is(err, kv.ErrSealed) {
		t.Fatalf("another satellite's curve key opened the credential: %v", err)
	}
	text := bucketText(t, e, kv.BucketCredentials)
	for _, s := range []string{k.Secret, string(cred.SaltedPassword), base64.StdEncoding.EncodeToString(cred.SaltedPassword)} {
		if strings.Contains(text, s) {
			t.Fatal("the credentials bucket holds a secret in the clear")
		}
	}
	mirrored := func(n *devstack.SatelliteNode) (bool, error) {
		keys, err := n.Satellite.CredentialKeys(ctx)
		return slices.Contains(keys, key), err
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if ok, err := mirrored(sat); !ok {
			return fmt.Errorf("not in the satellite's mirror yet (%v)", err)
		}
		return nil
	})
	if ok, _ := mirrored(other); ok {
		t.Fatal("another satellite mirrored the credential")
	}

	if _, err := e.client.RevokeKafkaAPIKey(ctx, "sealed", k.ID); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := bucket.Get(ctx, key); !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("revoked credential still on the hub (%v)", err)
		}
		if ok, err := mirrored(sat); ok || err != nil {
			return fmt.Errorf("revoked credential still in the satellite's mirror (%v)", err)
		}
		return nil
	})
}
