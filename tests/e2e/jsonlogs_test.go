package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/tests/testkit"
)

// nonJSONLines returns the lines of out that are not one JSON object each.
func nonJSONLines(out string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			bad = append(bad, sc.Text())
		}
	}
	return bad
}

func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building %s: %v", pkg, err)
	}
	return bin
}

// TestJSONLogsOnEveryLine runs `mothership dev` and a `satellite run` whose Kubernetes API
// answers with a deprecation warning (which client-go logs through klog) with
// --log-format json, and requires every line either writes to stderr to be one JSON
// object, including the embedded nats-server's lines, client-go's and the final error.
func TestJSONLogsOnEveryLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	mothership := buildBinary(t, "github.com/orbitcp/orbit/cmd/mothership")
	satelliteBin := buildBinary(t, "github.com/orbitcp/orbit/cmd/satellite")
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "mothership")
	seed := filepath.Join(dir, "s1.nk")

	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	add := exec.Command(mothership, "satellite", "add", "--data-dir", dataDir, "--region", "r1", "--seed-file", seed, "s1", "--log-format", "json")
	add.Dir = dir // the files it writes by default (NAME.xk, NAME.sender) land here
	var addErr bytes.Buffer
	add.Stderr = &addErr
	if err := add.Run(); err != nil {
		t.Fatalf("satellite add: %v\n%s", err, addErr.String())
	}

	apiAddr, _ := devstack.FreePort("127.0.0.1")
	leaf, _ := devstack.FreePort("127.0.0.1")
	var mErr lockedBuffer
	m := exec.Command(mothership, "dev", "--data-dir", dataDir, "--listen", apiAddr, "--leaf-listen", leaf, "--log-level", "debug")
	m.Env = append(os.Environ(), "ORBIT_LOG_FORMAT=json") // the environment variable, not the flag
	m.Stderr = &mErr
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Process.Kill(); _ = m.Wait() })
	testkit.CheckFor(t, 30*time.Second, func() error {
		if !strings.Contains(mErr.String(), "Starting nats-server") {
			return fmt.Errorf("no nats-server line yet")
		}
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

	// A Kubernetes API that refuses everything with a warning header: client-go logs the
	// warning through klog, then the satellite fails and exits.
	kube := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `299 - "orbit-test-warning: this API is deprecated"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`)
	}))
	defer kube.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: %q}\n  name: c\ncontexts:\n- context: {cluster: c, user: u}\n  name: x\ncurrent-context: x\nusers:\n- name: u\n  user: {token: abc}\n", kube.URL)
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	runSatellite := func(format string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s := exec.CommandContext(ctx, satelliteBin, "run", "--name", "s1", "--region", "r1", "--hub", "nats-leaf://"+leaf,
			"--seed-file", seed, "--data-dir", filepath.Join(dir, "sat-"+format), "--kubeconfig", kubeconfig, "--log-format", format)
		var sErr bytes.Buffer
		s.Stderr = &sErr
		if err := s.Run(); err == nil {
			t.Fatalf("satellite run against a refusing Kubernetes API succeeded")
		}
		return sErr.String()
	}
	out := runSatellite("json")
	if bad := nonJSONLines(out); len(bad) > 0 {
		t.Errorf("satellite: %d lines are not JSON objects: %q", len(bad), bad)
	}
	for _, want := range []string{"orbit-test-warning", `"msg":"satellite failed"`, "satellite starting"} {
		if !strings.Contains(out, want) {
			t.Errorf("satellite's JSON logs lack %q:\n%s", want, out)
		}
	}
	// Positive control: the check tells text from JSON.
	if bad := nonJSONLines(runSatellite("text")); len(bad) == 0 {
		t.Errorf("text logs passed for JSON")
	}

	if err := m.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := m.Wait(); err != nil {
		t.Logf("mothership exited: %v", err)
	}
	out = mErr.String()
	if bad := nonJSONLines(out); len(bad) > 0 {
		t.Errorf("mothership: %d lines are not JSON objects: %q", len(bad), bad)
	}
	if n := strings.Count(out, "\n"); n < 20 {
		t.Errorf("mothership wrote only %d lines", n)
	}
	if addErr.Len() > 0 {
		if bad := nonJSONLines(addErr.String()); len(bad) > 0 {
			t.Errorf("satellite add: lines are not JSON objects: %q", bad)
		}
	}
}
