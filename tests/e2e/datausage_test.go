package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orbitcp/orbit/devstack"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestSharedTenantsMeteredTheirOwnData, on both database engines: two tenants of one
// shared Kafka cluster write into their own topics over the Kafka protocol; the satellite
// reads from Kafka what each holds, and the usage meter bills each tenant its own
// partitions and bytes (one replica), never the other's nor the cluster's.
func TestSharedTenantsMeteredTheirOwnData(t *testing.T) {
	for _, engine := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, onEngine(engine), func(c *devstack.ControlPlaneConfig) { c.UsageInterval = 200 * time.Millisecond })
			e.satConfig = func(c *devstack.SatelliteConfig) {
				c.KafkaObserveEvery, c.KafkaHealthInterval = 300*time.Millisecond, 300*time.Millisecond
			}
			sat := e.startSatellite("us-west-2")
			ctx := context.Background()
			rival := e.clientAs("rival", api.RoleAdmin)
			type tenant struct {
				client     *api.Client
				cluster    *api.Cluster
				partitions int32
				bytes      int64
			}
			tenants := map[string]*tenant{"a": {client: e.client, partitions: 3, bytes: 64 << 20}, "b": {client: rival, partitions: 1, bytes: 16 << 20}}
			for name, tn := range tenants {
				if _, err := tn.client.CreateCluster(ctx, api.ClusterSpec{Name: name, Product: "kafka", SKU: "basic", CKU: 1, Region: "us-west-2"}); err != nil {
					t.Fatal(err)
				}
			}
			for name, tn := range tenants {
				testkit.CheckFor(t, 60*time.Second, func() error {
					c, err := tn.client.GetCluster(ctx, name)
					if err != nil {
						return err
					}
					if c.Status.Phase != api.PhaseReady || c.Status.CACertificate == "" || c.Status.BootstrapHost == "" {
						return fmt.Errorf("phase %s", c.Status.Phase)
					}
					tn.cluster = c
					return nil
				})
				key, err := tn.client.CreateKafkaAPIKey(ctx, name, api.KafkaAPIKeyRequest{})
				if err != nil {
					t.Fatal(err)
				}
				cl := kafkaClient(t, sat, tn.cluster, key.ID, key.Secret, kgo.RecordPartitioner(kgo.ManualPartitioner()))
				topic := tn.cluster.ID + ".orders"
				testkit.CheckFor(t, 30*time.Second, func() error {
					rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					defer cancel()
					res, err := kadm.NewClient(cl).CreateTopic(rctx, tn.partitions, 1, nil, topic)
					if err == nil && res.Err != nil && !isTopicExists(res.Err) {
						err = res.Err
					}
					return err
				})
				// Enough that a metering interval bills whole GiB-milliseconds.
				for range tn.bytes >> 19 { // 512 KiB records, random: compression keeps them whole
					v := make([]byte, 512<<10)
					_, _ = rand.Read(v)
					testkit.CheckFor(t, 10*time.Second, func() error {
						return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: v}).FirstErr()
					})
				}
			}

			// The satellite reports each tenant's own data.
			key := physicalKeyOf(t, e, "us-west-2")
			testkit.CheckFor(t, 30*time.Second, func() error {
				entry, err := e.bucket(kv.BucketActual).Get(ctx, key)
				if err != nil {
					return err
				}
				st, err := kv.DecodeStatus(entry.Value())
				if err != nil {
					return err
				}
				for _, tn := range tenants {
					u := st.Data.Tenant(tn.cluster.ID)
					if u == nil || u.Partitions != tn.partitions || u.Bytes < tn.bytes || u.Bytes > tn.bytes*11/10 {
						return fmt.Errorf("tenant %s: reported %+v, want %d partitions and about %d bytes", tn.cluster.ID, u, tn.partitions, tn.bytes)
					}
				}
				return nil
			})
			// Through the API each tenant sees its own share of the Kafka numbers only.
			for name, tn := range tenants {
				testkit.CheckFor(t, 30*time.Second, func() error {
					c, err := tn.client.GetCluster(ctx, name)
					if err != nil {
						return err
					}
					k := c.Status.Kafka
					if k == nil || k.Partitions != int(tn.partitions) || k.BytesOnDisk < tn.bytes || k.BytesOnDisk > tn.bytes*11/10 {
						return fmt.Errorf("tenant %s: the API shows kafka %+v, want %d partitions and about %d bytes", name, k, tn.partitions, tn.bytes)
					}
					return nil
				})
			}

			// Billed from then on: per CKU-hour (a basic cluster runs as 1 CKU), each
			// tenant's own partitions and GiB.
			usage := func(tn *tenant) (cku, gib, parts float64) {
				rows, err := tn.client.Usage(ctx, time.Now().Add(-2*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range rows {
					cku, gib, parts = cku+u.CKUHours, gib+u.StorageGiBHours, parts+u.PartitionHours
				}
				return cku, gib, parts
			}
			e.waitMeteredAfter(time.Now())
			before := map[string][3]float64{}
			for name, tn := range tenants {
				c, g, p := usage(tn)
				before[name] = [3]float64{c, g, p}
			}
			// Not synchronisation: the span billed, about ten metering intervals.
			time.Sleep(2 * time.Second)
			e.waitMeteredAfter(time.Now())
			for name, tn := range tenants {
				c, g, p := usage(tn)
				dc, dg, dp := c-before[name][0], g-before[name][1], p-before[name][2]
				if dc <= 0 {
					t.Fatalf("%s: no CKU-hours billed", name)
				}
				wantParts, wantGiB := float64(tn.partitions), float64(tn.bytes)/(1<<30)
				if math.Abs(dp/dc-wantParts) > 0.01*wantParts || math.Abs(dg/dc-wantGiB) > 0.1*wantGiB {
					t.Errorf("%s: billed %.3f partitions and %.6f GiB per CKU-hour, want %.0f and %.6f (its own topics only)", name, dp/dc, dg/dc, wantParts, wantGiB)
				}
			}
		})
	}
}
