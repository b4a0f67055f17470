package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestNATSReaderCredential mints a credential with `mothership nats-reader`, grants it with
// `mothership dev --nats-reader`, and connects over the hub's client listener the way the
// nats CLI does (--nkey FILE, --js-api-prefix): it lists and reads the buckets and cannot
// put; then the stock CLI itself (tests/natscli/install.sh) runs `kv ls`, `kv get` and
// `kv watch` with it, and is refused a durable consumer.
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
	js, _ := jetstream.NewWithAPIPrefix(nc, leafnode.ReaderAPIPrefix)
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
	natsCLI(t, natsAddr, seedFile)

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

// natsCLI runs the stock nats CLI with the reader's credential: kv ls, get and watch work
// (the watch prints the current values; then it is killed), a durable consumer is refused.
func natsCLI(t *testing.T, addr, seedFile string) {
	t.Helper()
	root := os.Getenv("ORBIT_TOOLS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "orbit", "tools")
	}
	bin := filepath.Join(root, "natscli-v0.5.0", "nats")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: run tests/natscli/install.sh", bin)
		}
		t.Skipf("%s not found: run tests/natscli/install.sh", bin)
	}
	base := []string{"--no-context", "--server", "nats://" + addr, "--nkey", seedFile, "--js-api-prefix", leafnode.ReaderAPIPrefix, "--timeout", "5s"}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(slices.Clone(base), args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("kv", "ls", "--names")
	if err != nil {
		t.Fatalf("nats kv ls: %v\n%s", err, out)
	}
	for _, b := range []string{kv.BucketDesired, kv.BucketActual, kv.BucketSatellites} {
		if !strings.Contains(out, b) {
			t.Errorf("nats kv ls lacks %s:\n%s", b, out)
		}
	}
	out, err = run("kv", "ls", kv.BucketSatellites)
	if err != nil {
		t.Fatalf("nats kv ls %s: %v\n%s", kv.BucketSatellites, err, out)
	}
	key := strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[0])
	if key == "" {
		t.Fatalf("nats kv ls %s lists no key", kv.BucketSatellites)
	}
	out, err = run("kv", "get", kv.BucketSatellites, key, "--raw")
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("nats kv get %s %s: %v\n%s", kv.BucketSatellites, key, err, out)
	}
	value := strings.TrimSpace(out)

	// kv watch runs until killed: read its output until the current value shows.
	cmd := exec.Command(bin, append(slices.Clone(base), "kv", "watch", kv.BucketSatellites)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var buf lockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	testkit.CheckFor(t, 30*time.Second, func() error {
		if s := buf.String(); !strings.Contains(s, key) || !strings.Contains(s, value[:min(len(value), 40)]) {
			return fmt.Errorf("nats kv watch has not shown %s yet:\n%s", key, s)
		}
		return nil
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	// A durable consumer, and a write, are refused.
	stream := kv.StreamName(kv.BucketDesired)
	if out, err := run("consumer", "add", stream, "operator-durable", "--pull", "--defaults"); err == nil {
		t.Errorf("nats consumer add (durable) succeeded:\n%s", out)
	}
	if out, err := run("kv", "put", kv.BucketSatellites, "intruder", "x"); err == nil {
		t.Errorf("nats kv put succeeded:\n%s", out)
	}
}
