package leafnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/tlstest"
)

// TestLeafTLSRotation: the satellite verifies the hub's certificate; after the certificate
// files change and the reloader picks them up, the established leaf connection keeps working
// (the same connection) while a new connection is served the new certificate.
func TestLeafTLSRotation(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	ca.Issue(t, certFile, keyFile, 100)
	reloader, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	hubTLS, err := ClientConfig(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := reloader.ServerConfig("")
	if err != nil {
		t.Fatal(err)
	}
	th := startTestHubTLS(t, serverTLS, "sat-a")
	a := startTestLeafTLS(t, th, "sat-a", hubTLS)
	desired := a.mirror(t, kv.DesiredMirror("sat-a"))
	leafID := onlyLeafID(t, th)
	if serial := servedSerial(t, th, ca.File); serial != 100 {
		t.Fatalf("served serial %d", serial)
	}

	ca.Issue(t, certFile, keyFile, 200)
	if changed, err := reloader.Reload(); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if serial := servedSerial(t, th, ca.File); serial != 200 {
		t.Fatalf("a new connection was served serial %d, want the new 200", serial)
	}
	// The established leaf connection is the same one, and it still carries desired state.
	th.put(t, kv.BucketDesired, "sat-a.kafka.c1", "after-rotation")
	testkit.CheckFor(t, 10*time.Second, func() error {
		e, err := desired.Get(context.Background(), "sat-a.kafka.c1")
		if err != nil {
			return err
		}
		if string(e.Value()) != "after-rotation" {
			return fmt.Errorf("value %q", e.Value())
		}
		return nil
	})
	if id := onlyLeafID(t, th); id != leafID {
		t.Fatalf("the leaf connection was replaced (%d → %d)", leafID, id)
	}

	// A pair that does not match is refused; the current certificate stays.
	ca.Issue(t, certFile, filepath.Join(dir, "other.key"), 300)
	if _, err := reloader.Reload(); err == nil {
		t.Fatal("a certificate without its key was accepted")
	}
	if serial := servedSerial(t, th, ca.File); serial != 200 {
		t.Fatalf("after a bad reload the hub serves %d", serial)
	}
}

func startTestHubTLS(t *testing.T, cfg *tls.Config, satellites ...string) *testHub {
	t.Helper()
	hubTLSForTest = cfg
	defer func() { hubTLSForTest = nil }()
	return startTestHub(t, satellites...)
}

func startTestLeafTLS(t *testing.T, th *testHub, satellite string, cfg *tls.Config) *testLeaf {
	t.Helper()
	leafTLSForTest = cfg
	defer func() { leafTLSForTest = nil }()
	return startTestLeaf(t, th, satellite, th.keys[satellite])
}

func onlyLeafID(t *testing.T, th *testHub) uint64 {
	t.Helper()
	lz, err := th.hub.Server().Leafz(nil)
	if err != nil || len(lz.Leafs) != 1 {
		t.Fatalf("leafz: %v %+v", err, lz)
	}
	return lz.Leafs[0].ID
}

// servedSerial opens a new TLS connection to the leaf-node port and returns the serial of
// the certificate it is served.
func servedSerial(t *testing.T, th *testHub, caFile string) int64 {
	t.Helper()
	cfg, err := ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	th.hub.mu.Lock()
	addr := net.JoinHostPort(th.hub.opts.LeafNode.Host, strconv.Itoa(th.hub.opts.LeafNode.Port))
	th.hub.mu.Unlock()
	// nats-server sends INFO before the handshake on leaf ports; read it, then upgrade.
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	buf := make([]byte, 4096)
	_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := raw.Read(buf); err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "127.0.0.1"
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatal(errors.New("no certificate"))
	}
	return certs[0].SerialNumber.Int64()
}
