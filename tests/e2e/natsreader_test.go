package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestNATSReaderCredential mints a credential with `mothership nats-reader`, grants it with
// `mothership dev --nats-reader`, and connects over the hub's client listener the way the
// nats CLI does (--nkey FILE): it lists and reads the buckets and cannot put.
func TestNATSReaderCredential(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	bin := buildBinary(t, "github.com/orbitcp/orbit/cmd/mothership")
	dir := t.TempDir()
	seedFile := filepath.Join(dir, "reader.nk")
	if out, err := exec.Command(bin, "nats-reader", "--out", seedFile).CombinedOutput(); err != nil {
		t.Fatalf("nats-reader: %v\n%s", err, out)
	}
	seed, err := os.ReadFile(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.ParseDecoratedNKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	apiAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	natsAddr, _ := devstack.FreePort("127.0.0.1")
	m := exec.Command(bin, "dev", "--data-dir", filepath.Join(dir, "d"), "--listen", apiAddr, "--leaf-listen", leaf,
		"--nats-listen", natsAddr, "--nats-reader", pub)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Process.Kill(); _ = m.Wait() })
	testkit.CheckFor(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + apiAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	})
	opt, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://"+natsAddr, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var names []string
	for n := range js.KeyValueStoreNames(ctx).Name() {
		names = append(names, n)
	}
	for _, b := range []string{kv.BucketDesired, kv.BucketActual, kv.BucketSatellites} {
		if !slices.Contains(names, b) {
			t.Errorf("reader lists %v, lacks %s", names, b)
		}
	}
	bkt, err := js.KeyValue(ctx, kv.BucketSatellites)
	if err != nil {
		t.Fatal(err)
	}
	// The dev satellite registers itself; the reader sees its key.
	testkit.CheckFor(t, 30*time.Second, func() error {
		keys, err := bkt.Keys(ctx)
		if err != nil {
			return err
		}
		if _, err := bkt.Get(ctx, keys[0]); err != nil {
			return err
		}
		return nil
	})
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if _, err := bkt.PutString(pctx, "intruder", "x"); err == nil {
		t.Errorf("reader put a key")
	}
	// Without the grant, the same key is not let in (positive control of the flag).
	other, _ := nkeys.CreateUser()
	oseed, _ := other.Seed()
	oFile := filepath.Join(dir, "other.nk")
	_ = os.WriteFile(oFile, oseed, 0o600)
	oopt, _ := nats.NkeyOptionFromSeed(oFile)
	if nc2, err := nats.Connect("nats://"+natsAddr, oopt, nats.MaxReconnects(0)); err == nil {
		nc2.Close()
		t.Errorf("an ungranted nkey connected")
	}
}
