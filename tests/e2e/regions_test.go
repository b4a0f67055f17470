package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestTwoRegionsOnRealKubernetes: a mothership and two satellites, each on its own real
// Kubernetes control plane. Kafka, ksqlDB and Connect in region A and Kafka in region B all
// reach Ready through the real controller manager, scheduler and kwok; the PSC objects are
// there (with their printer columns); nothing of region A appears in region B. A REST key
// of the Connect cluster reaches its rest-users Secret on the real API server, the
// workers roll for it and are Ready again, and a revoke takes its line away.
func TestTwoRegionsOnRealKubernetes(t *testing.T) {
	kubeA, kubeB := kubetest.Start(t), kubetest.Start(t)
	e := newEnv(t)
	e.startRealSatellite("us-west-2", kubeA)
	e.startRealSatellite("eu-west-1", kubeB)

	events, streams, sink, eu := createInTwoRegions(t, e)
	checkPSCTables(t, kubeA, kubeB, eu)
	checkNothingOfAInB(t, kubeB, eu, events, streams, sink)
	checkKsqlDBAndConnectConfig(t, kubeA, events, streams, sink)
	checkRESTKeyOnRealKubernetes(t, e, kubeA, sink)
	checkKafkaDataPlane(t, kubeA, events)

	// A Kafka cluster others work with is not deleted without a cascade.
	ctx := context.Background()
	if _, err := e.client.DeleteCluster(ctx, "events"); err == nil || !strings.Contains(err.Error(), "streams") {
		t.Fatalf("deleting a kafka with dependents: %v", err)
	}
	if _, err := e.client.DeleteClusterCascade(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"events", "streams", "sink"} {
		e.waitFor(name, 60*time.Second, phaseIs(api.PhaseDeleted))
	}
	e.waitFor("eu-events", 10*time.Second, readyWith(3))
}

// createInTwoRegions creates Kafka, ksqlDB and Connect in us-west-2 and Kafka in eu-west-1,
// and waits until all are ready where they belong.
func createInTwoRegions(t *testing.T, e *env) (events, streams, sink, eu *api.Cluster) {
	t.Helper()
	for _, spec := range []api.ClusterSpec{
		{Name: "events", Product: "kafka", CKU: 1, Region: "us-west-2"},
		{Name: "streams", Product: "ksqldb", CKU: 1, Region: "us-west-2", Kafka: "events"},
		{Name: "sink", Product: "connect", CKU: 2, Region: "us-west-2", Kafka: "events"},
		{Name: "eu-events", Product: "kafka", CKU: 1, Region: "eu-west-1"},
	} {
		if _, err := e.client.CreateCluster(context.Background(), spec); err != nil {
			t.Fatalf("create %s: %v", spec.Name, err)
		}
	}
	events = e.waitFor("events", 120*time.Second, func(c *api.Cluster) error {
		if err := readyWith(3)(c); err != nil {
			return err
		}
		if c.Status.Bootstrap == "" { // the cloud assigns load balancer addresses every second
			return errorf("no bootstrap address yet")
		}
		return nil
	})
	streams = e.waitFor("streams", 120*time.Second, readyWith(1))
	sink = e.waitFor("sink", 120*time.Second, readyWith(2))
	eu = e.waitFor("eu-events", 120*time.Second, readyWith(3))
	if events.Status.Satellite != "us-west-2" || streams.Status.Satellite != "us-west-2" || sink.Status.Satellite != "us-west-2" || eu.Status.Satellite != "eu-west-1" {
		t.Fatalf("placements: %s %s %s %s", events.Status.Satellite, streams.Status.Satellite, sink.Status.Satellite, eu.Status.Satellite)
	}
	// On a real cluster the bootstrap is the load balancer's published DNS name, the name the
	// certificate is verified against, reported once the load balancer has an address.
	bootstrapHost := "bootstrap.p" + events.ID[1:] + ".us-west-2.orbit.local"
	if streams.Kafka != "events" || events.Status.Bootstrap != net.JoinHostPort(bootstrapHost, "9092") ||
		events.Status.BootstrapHost != bootstrapHost || events.Status.CACertificate == "" {
		t.Fatalf("streams kafka %q, events bootstrap %q (host %q)", streams.Kafka, events.Status.Bootstrap, events.Status.BootstrapHost)
	}
	return events, streams, sink, eu
}

// checkPSCTables checks `kubectl get psc`, through each API server's table view.
func checkPSCTables(t *testing.T, kubeA, kubeB *kubetest.Cluster, eu *api.Cluster) {
	t.Helper()
	rowsA := pscTable(t, kubeA)
	rowsB := pscTable(t, kubeB)
	if len(rowsA) != 3 || len(rowsB) != 1 {
		t.Fatalf("PSCs: A %v, B %v", rowsA, rowsB)
	}
	for _, row := range rowsA {
		if row["Phase"] != "ready" || row["Version"] == "" || row["Ready"] == nil {
			t.Errorf("PSC row in A: %v", row)
		}
	}
	if rowsB[0]["Name"] != physicalID(eu) || rowsB[0]["Product"] != "kafka" {
		t.Errorf("PSC row in B: %v", rowsB[0])
	}
}

// checkNothingOfAInB: no namespace, no PSC, no object of region A's clusters in region B.
func checkNothingOfAInB(t *testing.T, kubeB *kubetest.Cluster, eu *api.Cluster, ofA ...*api.Cluster) {
	t.Helper()
	ctx := context.Background()
	nsB, err := kubeB.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: satellite.LabelManagedBy + "=" + satellite.FieldManager})
	if err != nil {
		t.Fatal(err)
	}
	if len(nsB.Items) != 1 || nsB.Items[0].Name != satellite.Namespace(physicalID(eu)) {
		t.Fatalf("namespaces in B: %v", names(nsB.Items))
	}
	for _, c := range ofA {
		if _, err := kubeB.Client.CoreV1().Namespaces().Get(ctx, satellite.Namespace(physicalID(c)), metav1.GetOptions{}); err == nil {
			t.Errorf("region B has %s's namespace", c.Name)
		}
	}
}

// checkKsqlDBAndConnectConfig: ksqlDB and Connect point at their Kafka's bootstrap;
// Connect has its group and topics.
func checkKsqlDBAndConnectConfig(t *testing.T, kubeA *kubetest.Cluster, events, streams, sink *api.Cluster) {
	t.Helper()
	bootstrap := fmt.Sprintf("kafka-broker-headless.%s.svc:9094", satellite.Namespace(physicalID(events)))
	ksql := configOf(t, kubeA, physicalID(streams), "ksqldb-config", "ksql-server.properties")
	if !strings.Contains(ksql, "bootstrap.servers="+bootstrap) || !strings.Contains(ksql, "ksql.service.id="+physicalID(streams)+"_") {
		t.Errorf("ksqldb configuration:\n%s", ksql)
	}
	connect := configOf(t, kubeA, physicalID(sink), "connect-config", "connect-distributed.properties")
	for _, want := range []string{"bootstrap.servers=" + bootstrap, "group.id=" + physicalID(sink), "config.storage.topic=_connect-" + physicalID(sink) + "-configs",
		"offset.storage.topic=_connect-" + physicalID(sink) + "-offsets", "status.storage.topic=_connect-" + physicalID(sink) + "-status"} {
		if !strings.Contains(connect, want) {
			t.Errorf("connect configuration lacks %q:\n%s", want, connect)
		}
	}
}

// checkKafkaDataPlane: controller quorum and brokers, per-broker and bootstrap load
// balancers, budgets, zone spread.
func checkKafkaDataPlane(t *testing.T, kubeA *kubetest.Cluster, events *api.Cluster) {
	t.Helper()
	ctx := context.Background()
	ns := satellite.Namespace(physicalID(events))
	svcs, _ := kubeA.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	var lbs []string
	for _, s := range svcs.Items {
		if s.Spec.Type == "LoadBalancer" {
			lbs = append(lbs, s.Name)
		}
	}
	slices.Sort(lbs)
	if want := []string{"kafka-bootstrap", "kafka-broker-0", "kafka-broker-1", "kafka-broker-2"}; !slices.Equal(lbs, want) {
		t.Errorf("load balancers %v, want %v", lbs, want)
	}
	for _, name := range []string{"kafka-controller", "kafka-broker"} {
		if _, err := kubeA.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("PDB %s: %v", name, err)
		}
	}
	pods, _ := kubeA.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: satellite.LabelComponent + "=kafka-broker"})
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != 3 {
		t.Errorf("3 brokers on %d nodes, want one per zone", len(nodes))
	}
	cfg := configOf(t, kubeA, physicalID(events), "kafka-config", "broker.properties")
	if !strings.Contains(cfg, "controller.quorum.voters=0@kafka-controller-0.kafka-controller-headless."+ns) || !strings.Contains(cfg, "listeners=CLIENT://:9092,INTERNAL://:9094") {
		t.Errorf("broker configuration:\n%s", cfg)
	}
	b1 := configOf(t, kubeA, physicalID(events), "kafka-config", "broker-1.properties")
	if !strings.Contains(b1, "advertised.listeners=CLIENT://b1."+physicalID(events)+".us-west-2.orbit.local:9092") {
		t.Errorf("broker-1 configuration:\n%s", b1)
	}
}

func physicalID(c *api.Cluster) string { return "p" + c.ID[1:] }

func names[T any](items []T) []string {
	var out []string
	for _, it := range items {
		b, _ := json.Marshal(it)
		var m struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		_ = json.Unmarshal(b, &m)
		out = append(out, m.Metadata.Name)
	}
	return out
}

func configOf(t *testing.T, k *kubetest.Cluster, cluster, cm, key string) string {
	t.Helper()
	c, err := k.Client.CoreV1().ConfigMaps(satellite.Namespace(cluster)).Get(context.Background(), cm, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("configmap %s of %s: %v", cm, cluster, err)
	}
	return c.Data[key]
}

// pscTable asks the API server for the PSC list as a table, the way kubectl get psc does,
// and returns each row by column name.
func pscTable(t *testing.T, k *kubetest.Cluster) []map[string]any {
	t.Helper()
	cfg := rest.CopyConfig(k.Config)
	gv := satellite.PSCResource.GroupVersion()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rc, err := rest.UnversionedRESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	body, err := rc.Get().AbsPath("/apis/orbit.dev/v1/physicalstatefulclusters").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if want := []string{"Name", "Product", "Version", "Replicas", "Ready", "Phase", "Age"}; !slices.Equal(cols, want) {
		t.Fatalf("PSC columns %v, want %v", cols, want)
	}
	var rows []map[string]any
	for _, r := range table.Rows {
		row := map[string]any{}
		for i, c := range cols {
			row[c] = r.Cells[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// checkRESTKeyOnRealKubernetes creates a REST key of the Connect cluster sink: the
// satellite writes its line (after the user no request can name) into the rest-users
// Secret, rolls the workers, which come back Ready; revoked, the line goes.
func checkRESTKeyOnRealKubernetes(t *testing.T, e *env, kubeA *kubetest.Cluster, sink *api.Cluster) {
	t.Helper()
	ctx := context.Background()
	const head = "# Connect admits every request when this file has no user: this one no request can name.\norbit\\:refuse-all: -\n"
	ns := satellite.Namespace(physicalID(sink))
	hasUsers := func(want string) {
		t.Helper()
		testkit.CheckFor(t, 60*time.Second, func() error {
			s, err := kubeA.Client.CoreV1().Secrets(ns).Get(ctx, "rest-users", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if string(s.Data["users.properties"]) != want {
				return errorf("the users file does not hold the live keys yet (%d bytes)", len(s.Data["users.properties"]))
			}
			return nil
		})
	}
	hasUsers(head)
	workers := func() (*appsv1.StatefulSet, error) {
		return kubeA.Client.AppsV1().StatefulSets(ns).Get(ctx, "connect", metav1.GetOptions{})
	}
	before, err := workers()
	if err != nil {
		t.Fatal(err)
	}
	const restartHash = "orbit.dev/restart-hash"
	k, err := e.client.CreateKafkaAPIKey(ctx, "sink", api.KafkaAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	hasUsers(head + k.ID + ": " + k.Secret + "\n")
	e.waitFor("sink", 120*time.Second, func(c *api.Cluster) error {
		sts, err := workers()
		if err != nil {
			return err
		}
		if sts.Spec.Template.Annotations[restartHash] == before.Spec.Template.Annotations[restartHash] {
			return errorf("the workers' restart hash has not changed")
		}
		// OnDelete: the controller never moves status.currentRevision on its own; both pods
		// at the update revision and ready is the roll done.
		if sts.Status.UpdatedReplicas != 2 || sts.Status.ReadyReplicas != 2 {
			return errorf("workers not rolled yet: %d updated, %d ready of revision %s", sts.Status.UpdatedReplicas, sts.Status.ReadyReplicas, sts.Status.UpdateRevision)
		}
		return readyWith(2)(c)
	})
	if _, err := e.client.RevokeKafkaAPIKey(ctx, "sink", k.ID); err != nil {
		t.Fatal(err)
	}
	hasUsers(head)
}
