package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
)

// backedUp is a cluster as a backup holds it.
type backedUp struct {
	id              string
	cku, generation int64
}

// TestBackupUnderLoadRestoresOntoAFreshMothership takes `mothership backup` of a running
// SQLite mothership from another process while a stream of creates and resizes goes on,
// loses that mothership (data directory, hub and all), and restores the backup onto a fresh
// one (`mothership restore` into a new data directory, a new hub) that the satellite
// reconnects to. Every cluster of the backup is back, ready, at the backup's generation and
// size. Those the satellite runs as the backup has them converge (the satellite finds the
// hub new, reports them again and mirrors the new hub's desired state) with no write to
// their Kubernetes objects; the satellite recreates and deletes nothing. A cluster changed
// after the backup (the satellite runs a generation the restored database never issued)
// converges back to the backup's size, never at a generation below the one it ran: the
// physical controller issues it again above the satellite's (or, when its physical change
// was not yet in the backup, issues it afresh with the backup's spec). A change made on the restored mothership reaches the
// satellite.
//
// On PostgreSQL it follows the README's procedure instead: pg_dump under the same load,
// pg_restore into a new database, `mothership restore --db`.
func TestBackupUnderLoadRestoresOntoAFreshMothership(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mothership binary")
	}
	bin := buildMothership(t)
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				for _, tool := range []string{"pg_dump", "pg_restore"} {
					if _, err := exec.LookPath(tool); err != nil {
						t.Skipf("the PostgreSQL procedure needs %s: %v", tool, err)
					}
				}
			}
			backupAndRestore(t, bin, engine)
		})
	}
}

func backupAndRestore(t *testing.T, bin, engine string) {
	e := newEnv(t, onEngine(engine))
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	m := newModel()
	rng := rand.New(rand.NewPCG(3, uint64(time.Now().UnixNano())))
	next := 0
	change := func() {
		op, name, cku := pickOp(rng, m, &next)
		for op == "delete" {
			op, name, cku = pickOp(rng, m, &next)
		}
		if err := do(ctx, e.client, op, name, cku); err != nil {
			t.Fatalf("%s %s: %v", op, name, err)
		}
		m.apply(op, name, cku)
	}
	for range 15 {
		change()
	}

	// The backup, from another process, while the changes go on.
	backup := filepath.Join(e.dir, "backup.db")
	cmd := exec.Command(bin, "backup", "--data-dir", filepath.Join(e.dir, "mothership"), "--to", backup)
	if engine == "postgres" {
		backup = filepath.Join(e.dir, "orbit.dump")
		cmd = exec.Command("pg_dump", "--format=custom", "--file", backup, e.pgDSN)
	}
	out := make(chan error, 1)
	var output []byte
	go func() {
		var err error
		output, err = cmd.CombinedOutput()
		out <- err
	}()
	during := 0
	for waiting := true; waiting; during++ {
		select {
		case err := <-out:
			if err != nil {
				t.Fatalf("mothership backup: %v\n%s", err, output)
			}
			waiting = false
		default:
			change()
		}
	}
	for range 5 {
		change() // after the backup: lost with the mothership
	}
	converge(t, e.client, m)
	t.Logf("%d changes while the backup ran, %d clusters", during, len(m.cku))

	restoredDB := ""
	if engine == "postgres" {
		var err error
		if restoredDB, err = db.CreateFreshPostgres(ctx, hubtest.PostgresURL(t), t.Name()+"-restored"); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("pg_restore", "--no-owner", "--dbname", restoredDB, backup).CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
	}
	held := readBackup(t, backup, restoredDB)
	if len(held) == 0 {
		t.Fatal("the backup holds no cluster")
	}
	// The clusters the satellite runs as the backup has them need no write at all.
	unchanged := map[string]bool{}
	for name, b := range held {
		if int64(m.cku[name]) == b.cku && int64(1+m.changes[name]) == b.generation {
			unchanged[name] = true
		}
	}

	if len(unchanged) == 0 {
		t.Fatal("no cluster runs as the backup holds it: nothing to check the restore's writes against")
	}
	// When the random changes after the backup changed no cluster it holds, one more, so
	// that there is always a cluster the satellite runs newer than the backup.
	if len(unchanged) == len(held) {
		if len(unchanged) == 1 {
			t.Fatal("the backup holds one cluster: nothing to change after it")
		}
		for name := range unchanged {
			cku := 1 + m.cku[name]%3
			if err := do(ctx, e.client, "resize", name, cku); err != nil {
				t.Fatalf("resize %s: %v", name, err)
			}
			m.apply("resize", name, cku)
			delete(unchanged, name)
			break
		}
		converge(t, e.client, m)
	}
	// The generation the satellite runs each cluster changed after the backup at.
	ran := map[string]int64{}
	for name, b := range held {
		if !unchanged[name] {
			ran[name] = e.actualStatus(kafkaKey(b)).ObservedGeneration
		}
	}
	cs := sat.Kube.(*fake.Clientset)
	before := statefulSets(t, cs, held, unchanged)

	// The mothership is lost; a fresh one starts from the backup, with a new hub.
	e.stopControlPlane()
	fresh := filepath.Join(e.dir, "restored")
	restore := []string{"restore", "--from", backup, "--data-dir", fresh}
	if engine == "postgres" {
		restore = []string{"restore", "--db", restoredDB, "--data-dir", fresh}
	}
	if out, err := exec.Command(bin, restore...).CombinedOutput(); err != nil {
		t.Fatalf("mothership restore: %v\n%s", err, out)
	}
	if engine == "sqlite" {
		if out, err := exec.Command(bin, "restore", "--from", backup, "--data-dir", fresh).CombinedOutput(); err == nil {
			t.Fatalf("a second restore into the same data directory succeeded:\n%s", out)
		}
	}
	cs.ClearActions()
	e.opts = append(e.opts, func(c *devstack.ControlPlaneConfig) {
		c.DataDir = fresh
		if restoredDB != "" {
			c.DB = restoredDB
		}
	})
	e.startControlPlane()

	for name, b := range held {
		e.waitFor(name, 60*time.Second, func(c *api.Cluster) error {
			if c.Generation != b.generation || int64(c.CKU) != b.cku {
				return errorf("%s at generation %d, %d CKU; the backup holds generation %d, %d CKU", name, c.Generation, c.CKU, b.generation, b.cku)
			}
			return readyWith(3 * int(b.cku))(c)
		})
	}
	// Those changed after the backup run the backup's size again, never at a generation below
	// the one the satellite ran them at. Usually the restored mothership issues them above it
	// once the satellite reports; a cluster whose physical change was not yet in the backup is
	// issued afresh by the restored physical controller before any report, and may reach the
	// generation the satellite ran (with the backup's spec, which the satellite converges to).
	for name, was := range ran {
		testkit.CheckForEvery(t, 60*time.Second, 200*time.Millisecond, func() error {
			st := e.actualStatus(kafkaKey(held[name]))
			if st.ObservedGeneration < was || st.Phase != kv.PhaseReady || int64(st.ReadyReplicas) != 3*held[name].cku {
				return fmt.Errorf("%s changed after the backup: the satellite runs generation %d (ran %d before the restore), %s with %d ready brokers; the backup holds %d CKU",
					name, st.ObservedGeneration, was, st.Phase, st.ReadyReplicas, held[name].cku)
			}
			return nil
		})
	}
	list, err := e.client.ListClusters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(held) {
		t.Errorf("the restored mothership lists %d clusters, the backup holds %d", len(list), len(held))
	}
	// Let a resync pass go by, then look at what the satellite wrote to its Kubernetes.
	time.Sleep(2 * time.Second) // not synchronisation: a window in which no write may happen
	written := 0
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		if a.GetSubresource() == "status" {
			continue // the simulated kubelet and controllers
		}
		written++
		switch a.GetVerb() {
		case "create", "delete", "delete-collection":
			// Clusters changed after the backup go back to its size (a broker's Service
			// comes or goes), but nothing is ever recreated.
			switch a.GetResource().Resource {
			case "namespaces", "statefulsets", "persistentvolumeclaims":
				t.Errorf("after the restore the satellite did %s %s %s", a.GetVerb(), a.GetResource().Resource, a.GetNamespace())
			}
		}
		for name := range unchanged {
			if a.GetNamespace() == satellite.Namespace(held[name].physical()) {
				t.Errorf("after the restore the satellite wrote %s %s in the namespace of %s, which the backup holds as it runs", a.GetVerb(), a.GetResource().Resource, name)
			}
		}
	}
	after := statefulSets(t, cs, held, unchanged)
	for name, s := range before {
		if !reflect.DeepEqual(s, after[name]) {
			t.Errorf("StatefulSet %s, of a cluster the backup holds as it ran, changed across the restore (uid %s, resourceVersion %q before; uid %s, resourceVersion %q after)",
				name, s.UID, s.ResourceVersion, after[name].UID, after[name].ResourceVersion)
		}
	}
	t.Logf("%d clusters in the backup, %d as the satellite ran them, %d converged back to it; %d writes to Kubernetes after the restore",
		len(held), len(unchanged), len(ran), written)

	// The restored mothership's changes reach the satellite: its mirror follows the new hub.
	for name := range unchanged {
		cku := 1 + int(held[name].cku)%3
		if err := do(ctx, e.client, "resize", name, cku); err != nil {
			t.Fatalf("resize %s after the restore: %v", name, err)
		}
		e.waitFor(name, 60*time.Second, readyWith(3*cku))
		break
	}
}

// statefulSets are the StatefulSets the satellite runs for the clusters of the backup that
// it runs as the backup holds them, by namespace and name.
func statefulSets(t *testing.T, cs *fake.Clientset, held map[string]backedUp, unchanged map[string]bool) map[string]appsv1.StatefulSet {
	t.Helper()
	out := map[string]appsv1.StatefulSet{}
	for name := range unchanged {
		ns := satellite.Namespace(held[name].physical())
		list, err := cs.AppsV1().StatefulSets(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 0 {
			t.Fatalf("no StatefulSet in %s, the namespace of %s", ns, name)
		}
		for _, s := range list.Items {
			s.Status = appsv1.StatefulSetStatus{} // the simulated kubelet's
			out[ns+"/"+s.Name] = s
		}
	}
	return out
}

// kafkaKey is the actual key of a Kafka cluster of the backup on the us-west-2 satellite.
func kafkaKey(b backedUp) kv.Key {
	return kv.Key{Satellite: "us-west-2", Product: kv.ProductKafka, Cluster: b.physical()}
}

// actualStatus is what the satellite last reported of key to the current hub.
func (e *env) actualStatus(key kv.Key) *kv.Status {
	e.t.Helper()
	entry, err := e.bucket(kv.BucketActual).Get(context.Background(), key.String())
	if err != nil {
		e.t.Fatalf("actual %s: %v", key, err)
	}
	st, err := kv.DecodeStatus(entry.Value())
	if err != nil {
		e.t.Fatalf("actual %s: %v", key, err)
	}
	return st
}

func (b backedUp) physical() string { return "p" + b.id[1:] }

// readBackup lists the live clusters a SQLite backup file holds, or, when restored is set,
// the PostgreSQL database a dump was restored into.
func readBackup(t *testing.T, path, restored string) map[string]backedUp {
	t.Helper()
	ctx := context.Background()
	if restored != "" {
		path = restored
	}
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	rows, err := store.DB().QueryContext(ctx, "SELECT id, name, cku, generation FROM logical_clusters WHERE deleted_at IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	held := map[string]backedUp{}
	for rows.Next() {
		var name string
		var b backedUp
		if err := rows.Scan(&b.id, &name, &b.cku, &b.generation); err != nil {
			t.Fatal(err)
		}
		held[name] = b
	}
	return held
}
