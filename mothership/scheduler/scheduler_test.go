package scheduler

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
)

func TestChoose(t *testing.T) {
	sat := func(name, region, cloud string, clusters int32, networks ...string) kv.Satellite {
		return kv.Satellite{SchemaVersion: 1, Name: name, Region: region, Cloud: cloud, Networks: networks,
			Capacity: kv.Capacity{Clusters: clusters}, HeartbeatAt: time.Now()}
	}
	load := func(name string, clusters, replicas int64) db.CountPlacedBySatelliteRow {
		return db.CountPlacedBySatelliteRow{Satellite: sql.NullString{String: name, Valid: true}, Clusters: clusters, Replicas: replicas}
	}
	cluster := db.PhysicalCluster{ID: "pkc-1", Region: "eu-west-1", Cloud: "aws", Network: "public", Replicas: 3}
	for _, tc := range []struct {
		name   string
		sats   []kv.Satellite
		load   []db.CountPlacedBySatelliteRow
		want   string
		reason string
	}{
		{"none at all", nil, nil, "", "no satellite serves region eu-west-1"},
		{"only another region", []kv.Satellite{sat("us", "us-west-2", "aws", 0, "public")}, nil, "", "no satellite serves region eu-west-1"},
		{"wrong cloud", []kv.Satellite{sat("eu", "eu-west-1", "gcp", 0, "public")}, nil, "", "serves cloud aws with network public"},
		{"wrong network", []kv.Satellite{sat("eu", "eu-west-1", "aws", 0, "private-link")}, nil, "", "serves cloud aws with network public"},
		{"full", []kv.Satellite{sat("eu", "eu-west-1", "aws", 1, "public")}, []db.CountPlacedBySatelliteRow{load("eu", 1, 3)}, "", "at capacity"},
		{"match", []kv.Satellite{sat("us", "us-west-2", "aws", 0, "public"), sat("eu", "eu-west-1", "aws", 0, "public")}, nil, "eu", "placed on eu"},
		{"least loaded", []kv.Satellite{sat("eu-a", "eu-west-1", "aws", 0, "public"), sat("eu-b", "eu-west-1", "aws", 0, "public")},
			[]db.CountPlacedBySatelliteRow{load("eu-a", 5, 15), load("eu-b", 2, 6)}, "eu-b", "placed on eu-b"},
		{"skips the full one", []kv.Satellite{sat("eu-a", "eu-west-1", "aws", 2, "public"), sat("eu-b", "eu-west-1", "aws", 0, "public")},
			[]db.CountPlacedBySatelliteRow{load("eu-a", 2, 6), load("eu-b", 9, 27)}, "eu-b", "placed on eu-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := choose(cluster, tc.sats, tc.load)
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Fatalf("choose = %q, %q; want %q, reason containing %q", got, reason, tc.want, tc.reason)
			}
		})
	}
}
