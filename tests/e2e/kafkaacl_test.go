package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/orbitcp/orbit/mothership/api"
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
	all := func() kadm.DescribeACLsResults {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := super.DescribeACLs(rctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
			Operations(kadm.OpAny).Allow().AllowHosts().Deny().DenyHosts())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	acls := func() []string {
		var out []string
		for _, r := range all() {
			for _, d := range r.Described {
				out = append(out, fmt.Sprintf("%s %s %s:%s", d.Principal, d.Operation, d.Type, d.Name))
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
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
	adm := kadm.NewClient(kafkaClient(t, c, k.ID, k.Secret))
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if res, err := adm.CreateTopic(rctx, 1, 1, nil, "orders"); err == nil && res.Err == nil {
		t.Fatal("the key created a topic without its topic ACL")
	}

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
