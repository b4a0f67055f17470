// Package profile holds the product profiles' shape, their built-in defaults and how the
// current revision of a product and SKU is read. The frontend writes profiles (operators
// set them through the API); the physical controller reads them.
package profile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// Profile is the part of a physical cluster's spec that the team running the product
// decides rather than the user: the seed's "partially configured PSC" filled in with
// version, disk and configuration. Operators set one per product and SKU through the API
// (no code change); each change is a new revision, and the physical controller applies the
// current one to every cluster of that product and SKU.
type Profile = api.ProfileSpec

var kafkaConfig = map[string]string{
	"default.replication.factor": "3",
	"min.insync.replicas":        "2",
	"auto.create.topics.enable":  "false",
}

// Defaults apply until an operator sets one (revision 0). For the shared SKUs,
// ReplicasPerCKU is the size of each shared cluster.
var Defaults = map[string]Profile{
	"kafka/dedicated": {Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500, Config: kafkaConfig},
	"kafka/basic": {Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 1000, Config: kafkaConfig,
		TenantsPerCluster: 20, TenantQuotas: &api.TenantQuotas{ProducerByteRate: 100 << 20, ConsumerByteRate: 300 << 20}},
	"kafka/standard": {Version: "3.9.0", ReplicasPerCKU: 6, Controllers: 3, StorageGiB: 2000, Config: kafkaConfig,
		TenantsPerCluster: 10, TenantQuotas: &api.TenantQuotas{ProducerByteRate: 250 << 20, ConsumerByteRate: 750 << 20}},
	"ksqldb/dedicated": {Version: "0.29.0", ReplicasPerCKU: 1, StorageGiB: 100,
		Config: map[string]string{"ksql.streams.replication.factor": "3"}},
	"connect/dedicated": {Version: "3.9.0", ReplicasPerCKU: 1, StorageGiB: 10,
		Config: map[string]string{"config.storage.replication.factor": "3"}},
}

// ProductSKUs lists the SKUs each product is sold in.
var ProductSKUs = map[kv.Product][]string{
	kv.ProductKafka:   {"basic", "standard", "dedicated"},
	kv.ProductKsqlDB:  {"dedicated"},
	kv.ProductConnect: {"dedicated"},
}

// MultiTenant reports whether a SKU packs many logical clusters onto shared physical ones.
func MultiTenant(sku string) bool { return sku == "basic" || sku == "standard" }

// Reader reads the current revision of a profile.
type Reader interface {
	GetCurrentProfile(ctx context.Context, arg db.GetCurrentProfileParams) (db.Profile, error)
}

// Current returns the current profile of product and SKU and its revision (0: the built-in
// default).
func Current(ctx context.Context, q Reader, product, sku string) (Profile, int64, error) {
	row, err := q.GetCurrentProfile(ctx, db.GetCurrentProfileParams{Product: product, Sku: sku})
	if errors.Is(err, db.ErrNotFound) {
		prof := Defaults[product+"/"+sku]
		prof.Config = maps.Clone(prof.Config)
		return prof, 0, nil
	}
	if err != nil {
		return Profile{}, 0, err
	}
	var prof Profile
	if err := json.Unmarshal([]byte(row.Spec), &prof); err != nil {
		return Profile{}, 0, fmt.Errorf("profile %s/%s revision %d: %w", product, sku, row.Version, err)
	}
	return prof, row.Version, nil
}

// RevisionReader reads one revision of a profile.
type RevisionReader interface {
	GetProfile(ctx context.Context, arg db.GetProfileParams) (db.Profile, error)
}

// At returns revision rev of the profile of product and SKU (0: the built-in default).
func At(ctx context.Context, q RevisionReader, product, sku string, rev int64) (Profile, error) {
	if rev == 0 {
		prof := Defaults[product+"/"+sku]
		prof.Config = maps.Clone(prof.Config)
		return prof, nil
	}
	row, err := q.GetProfile(ctx, db.GetProfileParams{Product: product, Sku: sku, Version: rev})
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s/%s revision %d: %w", product, sku, rev, err)
	}
	var prof Profile
	if err := json.Unmarshal([]byte(row.Spec), &prof); err != nil {
		return Profile{}, fmt.Errorf("profile %s/%s revision %d: %w", product, sku, rev, err)
	}
	return prof, nil
}
