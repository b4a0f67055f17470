package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/devstack"
)

// TestOrbitCLIJSONLogs: the orbit CLI takes --log-format/--log-level (and their environment
// variables) like the other binaries: in JSON mode its error is one JSON object on stderr;
// a bad format is a usage error that names the flag.
func TestOrbitCLIJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	orbit := buildBinary(t, "github.com/orbitcp/orbit/cmd/orbit")
	closed, _ := devstack.FreePort("127.0.0.1") // nothing listens there
	run := func(env []string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(orbit, args...)
		cmd.Env = append(os.Environ(), append(env, "ORBIT_SERVER=http://"+closed, "ORBIT_API_KEY=orbit_0123456789abcdef0123")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("orbit %v: want a failure, got %v", args, err)
		}
		return stderr.String(), exit.ExitCode()
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"cluster", "list", "--log-format", "json"}},
		{[]string{"ORBIT_LOG_FORMAT=json"}, []string{"cluster", "list"}},
	} {
		out, code := run(tc.env, tc.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1", tc.args, code)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var rec struct {
			Error string `json:"error"`
		}
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || !strings.Contains(rec.Error, closed) {
			t.Errorf("%v %v: stderr is not one JSON error record naming the server:\n%s", tc.env, tc.args, out)
		}
	}
	out, code := run(nil, "cluster", "list")
	if code != 1 || !strings.HasPrefix(out, "orbit: ") {
		t.Errorf("text mode: exit %d, stderr %q", code, out)
	}
	out, code = run(nil, "cluster", "list", "--log-format", "xml")
	if code != 2 || !strings.Contains(out, "--log-format") {
		t.Errorf("bad format: exit %d, stderr %q", code, out)
	}
}
