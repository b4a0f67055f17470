package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestKafkaACLDriftRepaired changes a dedicated cluster's ACLs behind Orbit's back, as the
// super user: the key's topic ACL deleted, an ACL for a principal Orbit never issued added.
// Without any change on the Orbit side, the satellite's next pass on the cluster puts the
// key's ACL back and deletes the other; the key can use topics again.
func TestKafkaACLDriftRepaired(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "drift", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("drift", 60*time.Second, readyWithCA(3))
	k, err := e.client.CreateKafkaAPIKey(ctx, "drift", api.KafkaAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	super := superAdmin(t, sat, "p"+c.ID[1:], c)
	acls := func() []string {
		return aclLines(t, super, func(d kadm.DescribedACL) string {
			return fmt.Sprintf("%s %s %s:%s", d.Principal, d.Operation, d.Type, d.Name)
		})
	}
	user := "User:" + k.ID
	want := []string{user + " ALL GROUP:*", user + " ALL TOPIC:*", user + " ALL TRANSACTIONAL_ID:*"}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if got := acls(); !slices.Equal(got, want) {
			return fmt.Errorf("ACLs %v, want %v", got, want)
		}
		return nil
	})

	topicACL := kadm.NewACLs().Allow(user).AllowHosts().Topics("*").ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpAll)
	if res, err := super.DeleteACLs(ctx, topicACL); err != nil || len(res) == 0 || len(res[0].Deleted) != 1 {
		t.Fatalf("deleting the key's topic ACL out of band: %v %v", res, err)
	}
	rogue := kadm.NewACLs().Allow("User:intruder").AllowHosts().Topics("*").ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpAll)
	if err := createACLsOK(ctx, super, rogue); err != nil {
		t.Fatalf("adding an ACL out of band: %v", err)
	}
	// (Whether the key is refused in between depends on how soon the satellite's next pass
	// comes, which its health reads make frequent: only the repair is asserted.)
	adm := kadm.NewClient(kafkaClient(t, sat, c, k.ID, k.Secret))

	// Nothing changes on Orbit's side: the periodic pass finds the drift.
	testkit.CheckFor(t, 75*time.Second, func() error {
		if got := acls(); !slices.Equal(got, want) {
			return fmt.Errorf("ACLs %v, want %v", got, want)
		}
		return nil
	})
	testkit.CheckFor(t, 10*time.Second, func() error {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := adm.CreateTopic(rctx, 1, 1, nil, "orders")
		if err == nil {
			err = res.Err
		}
		return err
	})
}

// aclLines describes every ACL of the cluster as the super user, one line each (by line),
// sorted, without repeats.
func aclLines(t *testing.T, super *kadm.Client, line func(kadm.DescribedACL) string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := super.DescribeACLs(ctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
		Operations(kadm.OpAny).Allow().AllowHosts().Deny().DenyHosts())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res {
		for _, d := range r.Described {
			out = append(out, line(d))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func createACLsOK(ctx context.Context, adm *kadm.Client, b *kadm.ACLBuilder) error {
	res, err := adm.CreateACLs(ctx, b)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// TestWorkerPrincipalsACLs attaches a ksqlDB and a Connect cluster to a dedicated Kafka
// cluster: the Kafka cluster (the harness, as its super user describes it) gives each
// worker's own principal, the subject of its certificate, exactly the ACLs on what its
// rendered configuration names (ksqlDB: its service id's internal topics, groups and
// transactional ids, its processing log; Connect: its three topics and its group) and the
// user-data scope an API key of the cluster has (every topic, group and transactional id),
// nothing on the cluster resource; under the Connect principal a client produces to a user
// topic; a deleted Connect cluster's ACLs go, and the same produce is refused. That the
// workers' REST endpoints refuse requests without credentials is not covered: no ksqlDB or
// Connect runs here.
func TestWorkerPrincipalsACLs(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "k", Product: "kafka", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	c := e.waitFor("k", 60*time.Second, readyWithCA(3))
	for _, w := range []api.ClusterSpec{
		{Name: "streams", Product: "ksqldb", CKU: 1, Region: "us-west-2", Kafka: "k"},
		{Name: "sink", Product: "connect", CKU: 1, Region: "us-west-2", Kafka: "k"},
	} {
		if _, err := e.client.CreateCluster(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	physical := func(product string) string {
		keys, err := e.bucket(kv.BucketDesired).Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if key, err := kv.ParseKey(k); err == nil && string(key.Product) == product {
				return key.Cluster
			}
		}
		return ""
	}
	var ksql, connect string
	testkit.CheckFor(t, 30*time.Second, func() error {
		ksql, connect = physical("ksqldb"), physical("connect")
		if ksql == "" || connect == "" {
			return fmt.Errorf("not placed yet: %q %q", ksql, connect)
		}
		return nil
	})
	config := func(ns, cm, file string) map[string]string {
		var props map[string]string
		testkit.CheckFor(t, 30*time.Second, func() error {
			got, err := sat.Kube.CoreV1().ConfigMaps(ns).Get(ctx, cm, metav1.GetOptions{})
			if err != nil {
				return err
			}
			props = map[string]string{}
			for line := range strings.Lines(got.Data[file]) {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
					props[k] = v
				}
			}
			return nil
		})
		return props
	}
	kc := config(satellite.Namespace(ksql), "ksqldb-config", "ksql-server.properties")
	cc := config(satellite.Namespace(connect), "connect-config", "connect-distributed.properties")
	id := kc["ksql.service.id"]
	ksqlUser, connectUser := "User:CN="+ksql+",OU=ksqldb,O=orbit", "User:CN="+connect+",OU=connect,O=orbit"
	want := []string{
		connectUser + " ALL GROUP:" + cc["group.id"] + " LITERAL",
		connectUser + " ALL TOPIC:" + cc["config.storage.topic"] + " LITERAL",
		connectUser + " ALL TOPIC:" + cc["offset.storage.topic"] + " LITERAL",
		connectUser + " ALL TOPIC:" + cc["status.storage.topic"] + " LITERAL",
		ksqlUser + " ALL GROUP:_confluent-ksql-" + id + " PREFIXED",
		ksqlUser + " ALL TOPIC:" + id + "ksql_processing_log LITERAL",
		ksqlUser + " ALL TOPIC:_confluent-ksql-" + id + " PREFIXED",
		ksqlUser + " ALL TRANSACTIONAL_ID:" + id + " PREFIXED",
	}
	for _, u := range []string{ksqlUser, connectUser} {
		want = append(want, u+" ALL GROUP:* LITERAL", u+" ALL TOPIC:* LITERAL", u+" ALL TRANSACTIONAL_ID:* LITERAL")
	}
	if id == "" || cc["group.id"] == "" || cc["config.storage.topic"] == "" {
		t.Fatalf("rendered configuration lacks the names: %v %v", kc, cc)
	}
	slices.Sort(want)
	super := superAdmin(t, sat, "p"+c.ID[1:], c)
	acls := func() []string {
		return aclLines(t, super, func(d kadm.DescribedACL) string {
			return fmt.Sprintf("%s %s %s:%s %s", d.Principal, d.Operation, d.Type, d.Name, d.Pattern)
		})
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		if got := acls(); !slices.Equal(got, want) {
			return fmt.Errorf("ACLs\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return nil
	})
	if res, err := super.CreateTopic(ctx, 1, 1, nil, "orders"); err != nil || res.Err != nil {
		t.Fatalf("creating a user topic: %v %v", err, res.Err)
	}
	asConnect := workerPrincipalClient(t, sat, super, c, strings.TrimPrefix(connectUser, "User:"))
	if err := produceOnce(asConnect, "orders"); err != nil {
		t.Fatalf("the Connect principal producing to a user topic: %v", err)
	}
	if _, err := e.client.DeleteCluster(ctx, "sink"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		for _, a := range acls() {
			if strings.HasPrefix(a, connectUser) {
				return fmt.Errorf("the deleted Connect cluster keeps %s", a)
			}
		}
		return nil
	})
	if err := produceOnce(asConnect, "orders"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("the deleted Connect cluster's principal producing: %v, want refused", err)
	}
}

// workerPrincipalClient is a client of the cluster under a worker's principal
// (User:<subject>). Workers authenticate with their certificate on the INTERNAL listener,
// which the Kafka-protocol brokers here do not serve (kfake has no TLS principals): the
// super user gives a SCRAM user of that very name instead, which Kafka's authorizer sees as
// the same principal. (The satellite manages only the kk- users of API keys.)
func workerPrincipalClient(t *testing.T, sat *devstack.SatelliteNode, super *kadm.Client, c *api.Cluster, subject string) *kgo.Client {
	t.Helper()
	const pass = "worker-principal-stand-in"
	res, err := super.AlterUserSCRAMs(context.Background(), nil, []kadm.UpsertSCRAM{{User: subject, Mechanism: kadm.ScramSha512,
		Iterations: 4096, Password: pass}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	return kafkaClient(t, sat, c, subject, pass)
}

// produceOnce produces one record, within 10 seconds.
func produceOnce(cl *kgo.Client, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

// TestWorkerPrincipalOnSharedCluster attaches a ksqlDB cluster to a basic Kafka cluster
// sharing its physical cluster with another tenant's: the ksqlDB cluster runs beside the
// shared cluster, and its principal gets its tenant's prefixed user-data scope there, no
// more: it produces to its tenant's topic, not to the other tenant's nor to another
// worker's internal topic.
func TestWorkerPrincipalOnSharedCluster(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	_, a, b := basicPair(t, e)
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "streams", Product: "ksqldb", CKU: 1, Region: "us-west-2", Kafka: "a"}); err != nil {
		t.Fatal(err)
	}
	shared, err := kv.ParseKey(physicalKeyOf(t, e, "us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	var ksql *kv.PSC
	testkit.CheckFor(t, 30*time.Second, func() error {
		keys, err := e.bucket(kv.BucketDesired).Keys(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if key, err := kv.ParseKey(k); err == nil && key.Product == kv.ProductKsqlDB {
				entry, err := e.bucket(kv.BucketDesired).Get(ctx, k)
				if err != nil {
					return err
				}
				ksql, err = kv.DecodePSC(entry.Value())
				return err
			}
		}
		return errors.New("the ksqldb cluster is not placed yet")
	})
	if want := (kv.KafkaRef{ID: shared.Cluster, Logical: a.ID}); ksql.Spec.Kafka == nil || *ksql.Spec.Kafka != want {
		t.Fatalf("the ksqldb cluster works with %+v, want %+v", ksql.Spec.Kafka, want)
	}
	super := superAdmin(t, sat, shared.Cluster, a)
	user := "User:CN=" + ksql.ID + ",OU=ksqldb,O=orbit"
	testkit.CheckFor(t, 60*time.Second, func() error {
		var scope []string
		for _, l := range aclLines(t, super, func(d kadm.DescribedACL) string {
			return fmt.Sprintf("%s %s %s:%s %s", d.Principal, d.Operation, d.Type, d.Name, d.Pattern)
		}) {
			if strings.HasPrefix(l, user+" ") && !strings.Contains(l, ksql.ID+"_") {
				scope = append(scope, strings.TrimPrefix(l, user+" "))
			}
		}
		want := []string{"ALL GROUP:" + a.ID + ". PREFIXED", "ALL TOPIC:" + a.ID + ". PREFIXED", "ALL TRANSACTIONAL_ID:" + a.ID + ". PREFIXED"}
		if !slices.Equal(scope, want) {
			return fmt.Errorf("the ksqldb principal's user-data ACLs %v, want %v", scope, want)
		}
		return nil
	})
	other := "_confluent-ksql-pksqlc-other__command_topic"
	for _, topic := range []string{a.ID + ".orders", b.ID + ".orders", other} {
		if res, err := super.CreateTopic(ctx, 1, 1, nil, topic); err != nil || res.Err != nil {
			t.Fatalf("creating %s: %v %v", topic, err, res.Err)
		}
	}
	asKsql := workerPrincipalClient(t, sat, super, a, strings.TrimPrefix(user, "User:"))
	if err := produceOnce(asKsql, a.ID+".orders"); err != nil {
		t.Fatalf("the ksqldb principal producing to its tenant's topic: %v", err)
	}
	for _, topic := range []string{b.ID + ".orders", other} {
		if err := produceOnce(asKsql, topic); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("the ksqldb principal producing to %s: %v, want refused", topic, err)
		}
	}
}

// basicPair creates basic cluster a of e's tenant and b of tenant rival (returning rival's
// client), ready and on one shared physical cluster.
func basicPair(t *testing.T, e *env) (rival *api.Client, a, b *api.Cluster) {
	t.Helper()
	rival = e.clientAs("rival", api.RoleAdmin)
	a, b = readyBasic(t, e.client, "a"), readyBasic(t, rival, "b")
	if a.Status.Bootstrap != b.Status.Bootstrap {
		t.Fatalf("the two basic clusters are not on one physical cluster: %s, %s", a.Status.Bootstrap, b.Status.Bootstrap)
	}
	return rival, a, b
}

// readyBasic creates a basic Kafka cluster with c and waits until it is ready with its CA
// and bootstrap name.
func readyBasic(t *testing.T, c *api.Client, name string) *api.Cluster {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", SKU: "basic", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	var got *api.Cluster
	testkit.CheckFor(t, 60*time.Second, func() error {
		cl, err := c.GetCluster(ctx, name)
		if err != nil {
			return err
		}
		if cl.Status.Phase != api.PhaseReady || cl.Status.CACertificate == "" || cl.Status.BootstrapHost == "" {
			return fmt.Errorf("phase %s", cl.Status.Phase)
		}
		got = cl
		return nil
	})
	return got
}
