package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/dbtest"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// crashRounds is how many times the mothership is killed.
const crashRounds = 20

// model is what the API accepted: the state each cluster must end in.
type model struct {
	cku     map[string]int
	deleted map[string]bool
	changes map[string]int // accepted changes, for the generation: 1 + changes
}

// TestMothershipSIGKILLRounds kills the mothership process with SIGKILL at a random point
// of a stream of creates, resizes and deletes, 20 times. Between rounds, with the process
// dead, it opens its store and its JetStream files and checks that EVENTS never holds an
// outbox row twice, that every published row is in EVENTS, and that the desired bucket
// never runs ahead of SQL; after each restart, every accepted change is there exactly once
// (generations count them) and converges on the satellite.
func TestMothershipSIGKILLRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	bin := buildMothership(t)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) { sigkillRounds(t, bin, engine) })
	}
}

func sigkillRounds(t *testing.T, bin, engine string) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "mothership")
	dsn := ""
	if engine == "postgres" {
		var err error
		if dsn, err = db.CreateFreshPostgres(context.Background(), hubtest.PostgresURL(t), t.Name()); err != nil {
			t.Fatal(err)
		}
	} else {
		dsn = filepath.Join(dataDir, "orbit.db")
	}
	ms := newMothershipProcess(t, bin, dataDir, dsn)
	ms.start()
	ms.startSatellite(filepath.Join(dir, "satellite"), 5*time.Millisecond)

	m := newModel()
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	next := 0
	for round := range crashRounds {
		// Whatever the last round left in flight has settled: check it all converged.
		converge(t, ms.client, m)
		uncertain := changeUntilKilled(t, ms, m, rng, &next, round)
		inspectOffline(t, dataDir, dsn)
		ms.start()
		if uncertain != nil {
			uncertain()
		}
	}
	converge(t, ms.client, m)
	ms.kill()
	inspectOffline(t, dataDir, dsn)
	t.Logf("%d rounds, %d clusters, %d changes", crashRounds, len(m.cku), total(m.changes))
}

func newModel() *model {
	return &model{cku: map[string]int{}, deleted: map[string]bool{}, changes: map[string]int{}}
}

// changeUntilKilled makes a stream of changes and kills the mothership at a random point of
// it. The last change races the kill: if it may or may not have been accepted, the
// returned func, to call once the mothership is back, settles it in the model.
func changeUntilKilled(t *testing.T, ms *mothershipProcess, m *model, rng *rand.Rand, next *int, round int) (uncertain func()) {
	t.Helper()
	ctx, client := context.Background(), ms.client
	killAt := time.Now().Add(time.Duration(10+rng.IntN(150)) * time.Millisecond)
	for time.Now().Before(killAt) {
		op, name, cku := pickOp(rng, m, next)
		if err := do(ctx, client, op, name, cku); err != nil {
			t.Fatalf("round %d: %s %s: %v", round, op, name, err)
		}
		m.apply(op, name, cku)
	}
	op, name, cku := pickOp(rng, m, next)
	done := make(chan error, 1)
	go func() { done <- do(ctx, client, op, name, cku) }()
	// Not synchronisation: a random 0-2 ms head start, so the kill lands at varying
	// points of the change.
	time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
	ms.kill()
	if err := <-done; err != nil {
		return func() { m.resolve(t, client, op, name, cku) }
	}
	m.apply(op, name, cku)
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func pickOp(rng *rand.Rand, m *model, next *int) (string, string, int) {
	var live []string
	for name := range m.cku {
		if !m.deleted[name] {
			live = append(live, name)
		}
	}
	switch r := rng.IntN(10); {
	case len(live) == 0 || (r < 4 && len(live) < 20):
		*next++
		return "create", fmt.Sprintf("c%d", *next), 1 + rng.IntN(3)
	case r < 8:
		name := live[rng.IntN(len(live))]
		return "resize", name, 1 + (m.cku[name] % 3)
	default:
		return "delete", live[rng.IntN(len(live))], 0
	}
}

// do sends one change of pickOp to the API.
func do(ctx context.Context, client *api.Client, op, name string, cku int) error {
	var err error
	switch op {
	case "create":
		_, err = client.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", CKU: cku, Region: "us-west-2"})
	case "resize":
		_, err = client.UpdateCluster(ctx, name, api.ClusterUpdate{CKU: ptr(cku)})
	case "delete":
		_, err = client.DeleteCluster(ctx, name)
	}
	return err
}

func (m *model) apply(op, name string, cku int) {
	switch op {
	case "create":
		m.cku[name], m.changes[name] = cku, 0
	case "resize":
		m.cku[name] = cku
		m.changes[name]++
	case "delete":
		m.deleted[name] = true
		m.changes[name]++
	}
}

// resolve learns whether a change whose answer was lost to the kill was accepted: either
// way is correct, anything else is not.
func (m *model) resolve(t *testing.T, client *api.Client, op, name string, cku int) {
	t.Helper()
	c, err := client.GetCluster(context.Background(), name)
	switch op {
	case "create":
		if api.IsNotFound(err) {
			return
		}
		if err != nil || c.CKU != cku {
			t.Fatalf("uncertain create of %s: %v %+v", name, err, c)
		}
	case "resize":
		if err != nil {
			t.Fatal(err)
		}
		if c.CKU == m.cku[name] && c.Generation == int64(1+m.changes[name]) {
			return
		}
		if c.CKU != cku {
			t.Fatalf("uncertain resize of %s to %d: cku %d", name, cku, c.CKU)
		}
	case "delete":
		if err != nil {
			t.Fatal(err)
		}
		if c.DeletedAt == nil {
			return
		}
	}
	m.apply(op, name, cku)
}

// converge waits until every cluster is as the model says, at exactly the generation its
// accepted changes make, and converged on the satellite.
func converge(t *testing.T, client *api.Client, m *model) {
	t.Helper()
	for name, cku := range m.cku {
		want := int64(1 + m.changes[name])
		testkit.CheckFor(t, 60*time.Second, func() error {
			c, err := client.GetCluster(context.Background(), name)
			if err != nil {
				return err
			}
			if c.Generation != want {
				return fmt.Errorf("%s at generation %d, want %d (accepted changes: lost or applied twice)", name, c.Generation, want)
			}
			if m.deleted[name] {
				if c.Status.Phase != api.PhaseDeleted {
					return fmt.Errorf("%s phase %s, want deleted", name, c.Status.Phase)
				}
				return nil
			}
			if c.CKU != cku {
				return fmt.Errorf("%s cku %d, want %d", name, c.CKU, cku)
			}
			return readyWith(3 * cku)(c)
		})
	}
}

// inspectOffline opens the killed mothership's store and JetStream files: EVENTS holds each
// published outbox row exactly once, and the desired bucket never runs ahead of SQL.
func inspectOffline(t *testing.T, dataDir, dsn string) {
	t.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	epoch, err := dbtest.Q(store).GetOutboxEpoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]bool{}
	rows, err := store.DB().QueryContext(ctx, "SELECT id FROM outbox WHERE published_at IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		published[fmt.Sprintf("%s-%d", epoch, id)] = true
	}
	rows.Close()
	physical := map[string]int64{}
	prow, err := store.DB().QueryContext(ctx, "SELECT id, generation FROM physical_clusters")
	if err != nil {
		t.Fatal(err)
	}
	for prow.Next() {
		var id string
		var gen int64
		_ = prow.Scan(&id, &gen)
		physical[id] = gen
	}
	prow.Close()

	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	hub, err := leafnode.StartHub(leafnode.HubConfig{StoreDir: filepath.Join(dataDir, "nats"), LeafListen: "127.0.0.1:-1", MothershipNKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Shutdown()
	nc, err := hub.Connect(kp)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(ctx, kv.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(ctx)
	seen := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue
			}
			t.Fatal(err)
		}
		id := msg.Header.Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Fatalf("EVENTS holds outbox row %s twice", id)
		}
		seen[id] = true
	}
	for id := range published {
		if !seen[id] && strings.HasPrefix(id, epoch) {
			t.Fatalf("outbox row %s is marked published but is not in EVENTS", id)
		}
	}
	desired, err := js.KeyValue(ctx, kv.BucketDesired)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := desired.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for key := range keys.Keys() {
		e, err := desired.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		psc, err := kv.DecodePSC(e.Value())
		if err != nil {
			t.Fatalf("desired %s: %v", key, err)
		}
		gen, ok := physical[psc.ID]
		if !ok || psc.Generation > gen {
			t.Fatalf("desired %s at generation %d runs ahead of SQL (%d, %v)", key, psc.Generation, gen, ok)
		}
	}
}
