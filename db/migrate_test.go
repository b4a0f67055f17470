package db

import (
	"context"
	"os"
	"sync"
	"testing"
)

// TestMigrateConcurrently: replicas starting together (the init containers of one
// Deployment) all migrate one fresh PostgreSQL database without an error: they take turns.
func TestMigrateConcurrently(t *testing.T) {
	dsn := os.Getenv("ORBIT_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI must test PostgreSQL too: set ORBIT_TEST_POSTGRES (make test does)")
		}
		t.Skip("needs PostgreSQL (ORBIT_TEST_POSTGRES)")
	}
	ctx := context.Background()
	fresh, err := CreateFreshPostgres(ctx, dsn, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	epochs := make([]string, len(errs))
	for i := range errs {
		s, err := Open(ctx, fresh)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Migrate(ctx)
			epochs[i] = s.Epoch()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
		if epochs[i] == "" || epochs[i] != epochs[0] {
			t.Errorf("replica %d: epoch %q, want the one epoch %q", i, epochs[i], epochs[0])
		}
	}
}
