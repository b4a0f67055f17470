package mothership

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/db"
)

// owners maps each file of the package to the service it belongs to. A file not listed
// here must not write anything.
var owners = map[string]string{
	"frontend.go":   "frontend",
	"apikeys.go":    "frontend",
	"auth.go":       "frontend",
	"physical.go":   "physical controller",
	"scheduler.go":  "scheduler",
	"sync.go":       "sync service",
	"status.go":     "status controller",
	"relay.go":      "outbox relay",
	"satellites.go": "onboarding",
	"profile.go":    "frontend",
	"usage.go":      "usage meter",
}

// writePrefixes are the query names that change a table.
var writePrefixes = []string{"Insert", "Update", "Upsert", "Delete", "Resize", "Undelete", "Rotate", "Revoke", "Mark", "Add", "Set"}

// TestEveryTableHasOneWriter reads this package's source and checks that each write
// query is called by exactly one service (the outbox, appended to by every writer through
// db.Enqueue in its own transaction, is the one shared table), and that only the sync
// service writes the desired bucket. A second writer fails this test.
func TestEveryTableHasOneWriter(t *testing.T) {
	var writes []string
	q := reflect.TypeFor[db.Querier]()
	for i := range q.NumMethod() {
		name := q.Method(i).Name
		if slices.ContainsFunc(writePrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) && name != "InsertOutbox" {
			writes = append(writes, name)
		}
	}
	if len(writes) < 10 {
		t.Fatalf("found only %d write queries: %v", len(writes), writes)
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	writers := map[string]map[string]bool{} // query or bucket write → services
	for _, pkg := range pkgs {
		for path, f := range pkg.Files {
			file := path[strings.LastIndex(path, "/")+1:]
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				name := sel.Sel.Name
				target := ""
				switch {
				case slices.Contains(writes, name):
					target = name
				case (name == "Create" || name == "Update" || name == "Put" || name == "Delete" || name == "Purge") && exprString(sel.X) == "s.desired":
					target = "KV desired"
				default:
					return true
				}
				owner, ok := owners[file]
				if !ok {
					t.Errorf("%s writes %s but belongs to no service", file, target)
					return true
				}
				if writers[target] == nil {
					writers[target] = map[string]bool{}
				}
				writers[target][owner] = true
				return true
			})
		}
	}
	for target, by := range writers {
		if len(by) != 1 {
			t.Errorf("%s has %d writers: %v", target, len(by), by)
		}
	}
	if len(writers["KV desired"]) != 1 || !writers["KV desired"]["sync service"] {
		t.Errorf("the desired bucket's writer: %v", writers["KV desired"])
	}
	t.Logf("%d writes checked", len(writers))
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	}
	return ""
}
