package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/orbitcp/orbit/db/internal/queries"
)

// TestConcurrentTransactionsKeepTheirOwnOutcome runs many transactions at once (on SQLite
// they are group-committed): those that fail leave nothing, and every other one is kept
// whole, whatever shared its commit.
func TestConcurrentTransactionsKeepTheirOwnOutcome(t *testing.T) {
	for dialect, s := range openTestStores(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			boom := errors.New("boom")
			const n = 400
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs[i] = s.InTx(ctx, AnyReplica, func(tx *Tx) error {
						q := queries.Of(tx)
						if err := insertTenant(ctx, q, fmt.Sprintf("k%d", i)); err != nil {
							return err
						}
						switch i % 5 {
						case 1: // fails after writing
							return boom
						case 2: // a second row of this transaction
							return insertTenant(ctx, q, fmt.Sprintf("k%d-b", i))
						}
						return nil
					})
				})
			}
			wg.Wait()
			for i := range n {
				_, err := queries.Of(s.Reader()).GetTenantByName(ctx, fmt.Sprintf("k%d", i))
				kept := err == nil
				switch {
				case i%5 == 1 && !errors.Is(errs[i], boom):
					t.Fatalf("transaction %d: error %v, want boom", i, errs[i])
				case i%5 == 1 && kept:
					t.Fatalf("transaction %d failed but its row was kept", i)
				case i%5 != 1 && errs[i] != nil:
					t.Fatalf("transaction %d: %v", i, errs[i])
				case i%5 != 1 && !kept:
					t.Fatalf("transaction %d succeeded but its row is missing: %v", i, err)
				}
				if i%5 == 2 {
					if _, err := queries.Of(s.Reader()).GetTenantByName(ctx, fmt.Sprintf("k%d-b", i)); err != nil {
						t.Fatalf("transaction %d: second row missing: %v", i, err)
					}
				}
			}
			if dialect == SQLite {
				if s.groups.Load() == 0 {
					t.Fatal("no transaction carried more than one call: group commit never happened")
				}
				t.Logf("%d group commits for %d transactions", s.groups.Load(), n)
			}
		})
	}
}

func insertTenant(ctx context.Context, q queries.Queries, name string) error {
	return q.InsertTenant(ctx, InsertTenantParams{ID: "id-" + name, Name: name, CreatedAt: Now()})
}
