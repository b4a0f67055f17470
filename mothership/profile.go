package mothership

import (
	"maps"

	"github.com/orbitcp/orbit/kv"
)

// Profile is the part of a physical cluster's spec that the team running the product
// decides rather than the user: the seed's "partially configured PSC" filled in with
// version, disk and configuration. The physical controller applies it when it maps a
// logical cluster to a physical one.
type Profile struct {
	Version string
	// ReplicasPerCKU is how many brokers (or workers) one CKU buys.
	ReplicasPerCKU int
	// Controllers is the KRaft controller quorum size (kafka only).
	Controllers  int
	StorageClass string
	// StorageGiB is the volume size of each replica.
	StorageGiB int
	Config     map[string]string
}

// defaultProfiles are the built-in profiles.
var defaultProfiles = map[kv.Product]Profile{
	kv.ProductKafka: {
		Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500,
		Config: map[string]string{
			"default.replication.factor": "3",
			"min.insync.replicas":        "2",
			"auto.create.topics.enable":  "false",
		},
	},
	kv.ProductKsqlDB: {
		Version: "0.29.0", ReplicasPerCKU: 1, StorageGiB: 100,
		Config: map[string]string{"ksql.streams.replication.factor": "3"},
	},
	kv.ProductConnect: {
		Version: "3.9.0", ReplicasPerCKU: 1, StorageGiB: 10,
		Config: map[string]string{"config.storage.replication.factor": "3"},
	},
}

func profileFor(p kv.Product) Profile {
	prof := defaultProfiles[p]
	prof.Config = maps.Clone(prof.Config)
	return prof
}
