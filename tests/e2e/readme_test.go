package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// README markers: the shell block after one is part of the production start; "each
// replica" blocks run once per replica host.
const (
	markProduction  = "<!-- production-test -->"
	markEachReplica = "<!-- production-test: each replica -->"
)

// readmeBlock is one marked shell block of the README.
type readmeBlock struct {
	script      string
	eachReplica bool
}

// productionBlocks extracts the marked shell blocks of README.md, in order.
func productionBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks  []readmeBlock
		pending *readmeBlock // marked, its fence not reached yet
		in      *strings.Builder
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case in != nil && line == "```":
			pending.script = in.String()
			blocks = append(blocks, *pending)
			pending, in = nil, nil
		case in != nil:
			in.WriteString(line + "\n")
		case line == markProduction || line == markEachReplica:
			pending = &readmeBlock{eachReplica: line == markEachReplica}
		case pending != nil && line == "```sh":
			in = &strings.Builder{}
		case pending != nil && strings.TrimSpace(line) != "":
			t.Fatalf("README: %q follows a production-test marker instead of a ```sh block", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestREADMEProduction follows the README's production start as written, on PostgreSQL and
// a real Kubernetes: the marked shell blocks run in one shell with the built binaries on
// PATH; only the settings the README asks a reader to set differ (database URL, ports,
// directories, host names, kubeconfig), and the replica block runs once per replica, as on
// two replica hosts. The cluster it creates must turn ready.
func TestREADMEProduction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the README's commands")
	}
	pg := hubtest.PostgresURL(t)
	if pg == "" {
		t.Skip("the production start runs on PostgreSQL (ORBIT_TEST_POSTGRES)")
	}
	blocks := productionBlocks(t, "../../README.md")
	replicaBlocks := 0
	for _, b := range blocks {
		if b.eachReplica {
			replicaBlocks++
		}
	}
	if len(blocks) < 4 || replicaBlocks != 1 {
		t.Fatalf("README: %d production-test blocks, %d of them per replica; want the whole start marked", len(blocks), replicaBlocks)
	}
	kube := kubetest.Start(t)
	ctx := context.Background()
	dsn, err := db.CreateFreshPostgres(ctx, pg, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, name := range []string{"mothership", "satellite", "orbit"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, name), "github.com/orbitcp/orbit/cmd/"+name)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("building %s: %v", name, err)
		}
	}
	port := func() string {
		addr, err := devstack.FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return addr[strings.LastIndex(addr, ":")+1:]
	}

	// The settings: what the README's first block sets for a real site.
	var script strings.Builder
	settings := map[string]string{
		"ORBIT_DB": dsn, "ORBIT_ETC": filepath.Join(dir, "etc"), "ORBIT_STATE": filepath.Join(dir, "state"),
		"HUB_HOST": "127.0.0.1", "NATS_PORT": port(), "LEAF_PORT": port(), "API_HOST": "127.0.0.1",
		"KUBECONFIG": kube.Kubeconfig,
	}
	for k, v := range settings {
		fmt.Fprintf(&script, "export %s=%q\n", k, v)
	}
	var apiPorts []string
	for _, b := range blocks {
		if !b.eachReplica {
			script.WriteString(b.script)
			continue
		}
		for i := range 2 {
			apiPorts = append(apiPorts, port())
			fmt.Fprintf(&script, "export REPLICA=replica-%d API_PORT=%s\n", i+1, apiPorts[i])
			script.WriteString(b.script)
		}
	}
	scriptFile := filepath.Join(dir, "production.sh")
	if err := os.WriteFile(scriptFile, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	// Files, not pipes: the processes the script starts in the background keep its output.
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("bash", "-eu", "-o", "pipefail", scriptFile)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The hub, the replicas and the satellite run in the script's process group.
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		time.Sleep(2 * time.Second)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(4 * time.Minute):
		err = fmt.Errorf("still running after 4 minutes")
	}
	output, _ := os.ReadFile(out.Name())
	if err != nil {
		t.Fatalf("the README's production start: %v\n%s", err, output)
	}
	t.Logf("the README's production start:\n%s", output)

	// The cluster is ready, as every replica tells (a key of the test's own, in the tenant
	// "mothership apikey create" put the README's key in).
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := frontend.EnsureAPIKey(ctx, store, "operators", api.RoleOperator, testKey, "README test"); err != nil {
		t.Fatal(err)
	}
	for _, p := range apiPorts {
		client, err := api.NewClient("http://127.0.0.1:"+p, testKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.GetCluster(ctx, "demo")
		if err != nil {
			t.Fatalf("replica on port %s: %v", p, err)
		}
		if err := readyWith(3)(c); err != nil {
			t.Errorf("replica on port %s: demo: %v", p, err)
		}
	}
}
