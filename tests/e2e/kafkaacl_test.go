package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// transactional ids, its processing log; Connect: its three topics and its group), nothing
// on the cluster resource; a deleted Connect cluster's ACLs go. That the workers'
// REST endpoints refuse requests without credentials is not covered: no ksqlDB or Connect
// runs here.
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
}
