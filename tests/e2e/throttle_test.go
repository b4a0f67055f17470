package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/frontend"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestProfileReplicationThrottle: a profile's replicationThrottleBytesPerSecond (a bad one
// refused, naming the field) reaches the PSC through the physical cluster, and is the
// throttle the brokers carry while a rebalance moves replicas.
func TestProfileReplicationThrottle(t *testing.T) {
	r := newResizeEnv(t, 1, nil)
	ctx := context.Background()
	opKey := frontend.NewAPIKey()
	if err := frontend.EnsureAPIKey(ctx, r.e.cp.Store, "ops", api.RoleOperator, opKey, "ops"); err != nil {
		t.Fatal(err)
	}
	ops, _ := api.NewClient(r.e.cp.URL(), opKey, nil)
	spec := api.ProfileSpec{Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2", "auto.create.topics.enable": "false"}}
	for _, bad := range []int64{-1, 1000} {
		s := spec
		s.ReplicationThrottleBytesPerSecond = bad
		var apiErr *api.StatusError
		if _, err := ops.SetProfile(ctx, "kafka", "dedicated", s); !errors.As(err, &apiErr) || apiErr.Err.Field != "replicationThrottleBytesPerSecond" {
			t.Fatalf("throttle %d: %v", bad, err)
		}
	}
	const throttle = 7 << 20
	spec.ReplicationThrottleBytesPerSecond = throttle
	if _, err := ops.SetProfile(ctx, "kafka", "dedicated", spec); err != nil {
		t.Fatal(err)
	}
	key := physicalKeyOf(t, r.e, "us-west-2")
	testkit.CheckFor(t, 30*time.Second, func() error {
		entry, err := r.e.bucket(kv.BucketDesired).Get(ctx, key)
		if err != nil {
			return err
		}
		var psc kv.PSC
		if err := json.Unmarshal(entry.Value(), &psc); err != nil {
			return err
		}
		if psc.Spec.ReplicationThrottle != throttle {
			return fmt.Errorf("PSC replicationThrottle %d", psc.Spec.ReplicationThrottle)
		}
		return nil
	})

	// Reassignments held in flight: the brokers carry the profile's throttle meanwhile.
	r.createTopic(t, "orders", 6, 3)
	r.kafka.HoldReassignments(true)
	r.resize(t, 2)
	want := strconv.Itoa(throttle)
	testkit.CheckFor(t, 90*time.Second, func() error {
		if len(r.kafka.Reassignments()) == 0 {
			return fmt.Errorf("no reassignment yet")
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req := kmsg.NewPtrDescribeConfigsRequest()
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "1000"
		rr.ConfigNames = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, r.cl)
		if err != nil {
			return err
		}
		seen := 0
		for _, res := range resp.Resources {
			for _, cfg := range res.Configs {
				if cfg.Value == nil || *cfg.Value != want {
					return fmt.Errorf("broker %s: %s=%v", res.ResourceName, cfg.Name, cfg.Value)
				}
				seen++
			}
		}
		if seen != 2 {
			return fmt.Errorf("%d throttle configurations", seen)
		}
		return nil
	})
	r.kafka.HoldReassignments(false)
}
