package db_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/db/leaderdb"
	"github.com/orbitcp/orbit/db/onboardingdb"
	"github.com/orbitcp/orbit/db/physicaldb"
	"github.com/orbitcp/orbit/db/relaydb"
	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/db/schedulerdb"
	"github.com/orbitcp/orbit/db/statusdb"
	"github.com/orbitcp/orbit/db/syncdb"
	"github.com/orbitcp/orbit/db/usagedb"
)

const module = "github.com/orbitcp/orbit/"

// owners is the single-writer table of package db's doc, for the machine: each table (or
// key of the meta table) and the query set that alone may write it. The outbox is appended
// to by every writer in its own transaction; only the relay changes its rows.
var owners = map[string]string{
	"tenants":              "db/frontenddb",
	"api_keys":             "db/frontenddb",
	"kafka_api_keys":       "db/frontenddb",
	"logical_clusters":     "db/frontenddb",
	"cluster_history":      "db/frontenddb",
	"profiles":             "db/frontenddb",
	"console_sessions":     "db/frontenddb",
	"satellites":           "db/onboardingdb",
	"physical_clusters":    "db/physicaldb",
	"physical_generations": "db/physicaldb",
	"tenancies":            "db/physicaldb",
	"placements":           "db/schedulerdb",
	"cluster_status":       "db/statusdb",
	"usage":                "db/usagedb",
	"meta[usage_cursor]":   "db/usagedb",
	"meta[outbox_epoch]":   "db", // the store itself
	"outbox":               "db/relaydb",
	"leader_lease":         "db/leaderdb",
	"rollouts":             "db/frontenddb",
	"rollout_history":      "db/frontenddb",
	"cluster_labels":       "db/frontenddb",
	"cluster_pins":         "db/frontenddb",
	"maintenance_windows":  "db/frontenddb",
	"rollout_status":       "db/rolloutdb",
	"rollout_targets":      "db/rolloutdb",
	"cluster_targets":      "db/rolloutdb",
	"rollout_events":       "db/rolloutdb",
}

// sets are the query sets, each with the one service package that may import it.
var sets = map[string]struct {
	queries reflect.Type
	service string
}{
	"db/frontenddb":   {reflect.TypeFor[frontenddb.Queries](), "mothership/frontend"},
	"db/onboardingdb": {reflect.TypeFor[onboardingdb.Queries](), "mothership/onboarding"},
	"db/physicaldb":   {reflect.TypeFor[physicaldb.Queries](), "mothership/physical"},
	"db/schedulerdb":  {reflect.TypeFor[schedulerdb.Queries](), "mothership/scheduler"},
	"db/syncdb":       {reflect.TypeFor[syncdb.Queries](), "mothership/desiredsync"},
	"db/statusdb":     {reflect.TypeFor[statusdb.Queries](), "mothership/status"},
	"db/usagedb":      {reflect.TypeFor[usagedb.Queries](), "mothership/usage"},
	"db/relaydb":      {reflect.TypeFor[relaydb.Queries](), "mothership/relay"},
	"db/leaderdb":     {reflect.TypeFor[leaderdb.Queries](), "mothership/leader"},
	"db/rolloutdb":    {reflect.TypeFor[rolloutdb.Queries](), "mothership/rollout"},
}

// TestEveryTableHasOneWriter checks the single-writer rule in two halves. A query set may
// hold only the writes of the tables it owns (and the outbox append); and only its service
// package may import it (tests aside), while db/dbtest, which holds every query, is imported
// by tests only. Every other way to write is closed by the compiler: the whole query set
// lives in db/internal. A second writer of a table fails here, naming the table and the
// package.
func TestEveryTableHasOneWriter(t *testing.T) {
	writes := writeTargets(t)
	for set, s := range sets {
		for i := range s.queries.NumMethod() {
			name := s.queries.Method(i).Name
			table, ok := writes[name]
			if !ok || name == "InsertOutbox" {
				continue
			}
			if owner := owners[table]; owner != set {
				t.Errorf("table %s: %s holds %s, but %s owns the table", table, set, name, owner)
			}
		}
	}
	for pkg, imports := range importGraph(t) {
		for _, imp := range imports {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if rel == "db/dbtest" {
				t.Errorf("%s imports db/dbtest, which holds every query: only tests may", pkg)
			}
			if s, ok := sets[rel]; ok && pkg != s.service {
				t.Errorf("%s imports %s and could write %s: only %s may", pkg, rel, tablesOf(rel), s.service)
			}
		}
	}
}

// writeTargets maps each query of queries/*.sql that writes to the table it writes (the
// meta table by key).
func writeTargets(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../queries/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no query files: %v", err)
	}
	nameRE := regexp.MustCompile(`^-- name: (\w+)`)
	writeRE := regexp.MustCompile(`(?i)^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)`)
	metaKeyRE := regexp.MustCompile(`'(\w+)'`)
	out := map[string]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		query := ""
		for sc.Scan() {
			line := sc.Text()
			if m := nameRE.FindStringSubmatch(line); m != nil {
				query = m[1]
				continue
			}
			if m := writeRE.FindStringSubmatch(line); m != nil && query != "" {
				table := m[1]
				if table == "meta" {
					k := metaKeyRE.FindStringSubmatch(line)
					if k == nil {
						t.Errorf("%s writes the meta table without a fixed key: each key has one owner", query)
						continue
					}
					table = "meta[" + k[1] + "]"
				}
				if _, ok := owners[table]; !ok {
					t.Errorf("%s writes %s, which has no owner in this test's table", query, table)
				}
				out[query] = table
			}
		}
		fh.Close()
	}
	if len(out) < 20 {
		t.Fatalf("found only %d write queries", len(out))
	}
	return out
}

// importGraph lists each non-test package of the module (relative path) with its imports.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		graph[strings.TrimPrefix(fields[0], module)] = fields[1:]
	}
	if len(graph) < 20 {
		t.Fatalf("go list found %d packages", len(graph))
	}
	return graph
}

func tablesOf(set string) string {
	var tables []string
	for table, owner := range owners {
		if owner == set {
			tables = append(tables, table)
		}
	}
	sort.Strings(tables)
	if len(tables) == 0 {
		return "nothing"
	}
	return strings.Join(tables, ", ")
}
