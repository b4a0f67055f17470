package mothership

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// Profile is the part of a physical cluster's spec that the team running the product
// decides rather than the user: the seed's "partially configured PSC" filled in with
// version, disk and configuration. Operators set one per product and SKU through the API
// (no code change); each change is a new revision, and the physical controller applies the
// current one to every cluster of that product and SKU.
type Profile = api.ProfileSpec

var (
	profileVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	profileKey     = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
)

// validateProfile checks a profile for product and SKU; fields are named as in its JSON.
func validateProfile(product kv.Product, sku string, p *Profile) error {
	if multiTenant(sku) {
		if p.TenantsPerCluster < 1 || p.TenantsPerCluster > kv.MaxTenants {
			return invalid("tenantsPerCluster", "a %s profile needs between 1 and %d", sku, kv.MaxTenants)
		}
		if q := p.TenantQuotas; q != nil && (q.ProducerByteRate < 0 || q.ConsumerByteRate < 0 || q.MaxPartitions < 0 || q.MaxConnections < 0) {
			return invalid("tenantQuotas", "must not be negative")
		}
	} else if p.TenantsPerCluster != 0 || p.TenantQuotas != nil {
		return invalid("tenantsPerCluster", "only the basic and standard SKUs are shared")
	}
	switch {
	case !profileVersion.MatchString(p.Version):
		return invalid("version", "%q must be MAJOR.MINOR.PATCH", p.Version)
	case p.ReplicasPerCKU < 1 || p.ReplicasPerCKU*MaxCKU > kv.MaxReplicas:
		return invalid("replicasPerCKU", "must be between 1 and %d", kv.MaxReplicas/MaxCKU)
	case p.Controllers < 0 || p.Controllers > kv.MaxControllers || (p.Controllers > 0 && product != kv.ProductKafka):
		return invalid("controllers", "must be between 0 and %d, and only for kafka", kv.MaxControllers)
	case p.StorageGiB < 1 || p.StorageGiB > kv.MaxStorageGiB:
		return invalid("storageGiB", "must be between 1 and %d", kv.MaxStorageGiB)
	case len(p.Config) > kv.MaxConfigEntries:
		return invalid("config", "at most %d entries", kv.MaxConfigEntries)
	}
	if p.StorageClass != "" {
		if err := kv.ValidateName("storageClass", p.StorageClass); err != nil {
			return asFieldErr("", err)
		}
	}
	for k, v := range p.Config {
		if !profileKey.MatchString(k) {
			return invalid("config", "key %q must match %s", k, profileKey)
		}
		if len(v) > kv.MaxConfigValue {
			return invalid("config."+k, "at most %d bytes", kv.MaxConfigValue)
		}
	}
	return nil
}

var kafkaConfig = map[string]string{
	"default.replication.factor": "3",
	"min.insync.replicas":        "2",
	"auto.create.topics.enable":  "false",
}

// defaultProfiles apply until an operator sets one (revision 0). For the shared SKUs,
// ReplicasPerCKU is the size of each shared cluster.
var defaultProfiles = map[string]Profile{
	"kafka/dedicated": {Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 500, Config: kafkaConfig},
	"kafka/basic": {Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 1000, Config: kafkaConfig,
		TenantsPerCluster: 20, TenantQuotas: &api.TenantQuotas{ProducerByteRate: 100 << 20, ConsumerByteRate: 300 << 20, MaxPartitions: 1000, MaxConnections: 1000}},
	"kafka/standard": {Version: "3.9.0", ReplicasPerCKU: 6, Controllers: 3, StorageGiB: 2000, Config: kafkaConfig,
		TenantsPerCluster: 10, TenantQuotas: &api.TenantQuotas{ProducerByteRate: 250 << 20, ConsumerByteRate: 750 << 20, MaxPartitions: 2000, MaxConnections: 5000}},
	"ksqldb/dedicated": {Version: "0.29.0", ReplicasPerCKU: 1, StorageGiB: 100,
		Config: map[string]string{"ksql.streams.replication.factor": "3"}},
	"connect/dedicated": {Version: "3.9.0", ReplicasPerCKU: 1, StorageGiB: 10,
		Config: map[string]string{"config.storage.replication.factor": "3"}},
}

// productSKUs lists the SKUs each product is sold in.
var productSKUs = map[kv.Product][]string{
	kv.ProductKafka:   {"basic", "standard", "dedicated"},
	kv.ProductKsqlDB:  {"dedicated"},
	kv.ProductConnect: {"dedicated"},
}

// multiTenant reports whether a SKU packs many logical clusters onto shared physical ones.
func multiTenant(sku string) bool { return sku == "basic" || sku == "standard" }

// currentProfile returns the current profile of product and SKU and its revision (0: the
// built-in default).
func currentProfile(ctx context.Context, q db.Querier, product, sku string) (Profile, int64, error) {
	row, err := q.GetCurrentProfile(ctx, sqlitegen.GetCurrentProfileParams{Product: product, Sku: sku})
	if db.NotFound(err) {
		prof := defaultProfiles[product+"/"+sku]
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

// profileEventID names a profile in EVENTS: events.profile.<product>-<sku>.
func profileEventID(product, sku string) string { return product + "-" + sku }

func (f *frontend) listProfiles(w http.ResponseWriter, r *http.Request, _ *principal) error {
	out := []api.Profile{}
	for _, product := range kv.Products {
		for _, sku := range productSKUs[product] {
			prof, rev, err := currentProfile(r.Context(), f.store.Q(), string(product), sku)
			if err != nil {
				return err
			}
			v := api.Profile{Product: string(product), SKU: sku, Revision: rev, Spec: prof}
			if rev > 0 {
				row, err := f.store.Q().GetCurrentProfile(r.Context(), sqlitegen.GetCurrentProfileParams{Product: string(product), Sku: sku})
				if err != nil {
					return err
				}
				at := db.Time(row.CreatedAt)
				v.CreatedAt, v.CreatedBy = &at, row.CreatedBy
			}
			out = append(out, v)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// setProfile records a new revision of a product and SKU's profile and publishes it; the
// physical controller re-renders every cluster of that product and SKU.
func (f *frontend) setProfile(w http.ResponseWriter, r *http.Request, p *principal) error {
	product, sku := r.PathValue("product"), r.PathValue("sku")
	if err := kv.Product(product).Validate("product"); err != nil {
		return asFieldErr("", err)
	}
	if !slices.Contains(productSKUs[kv.Product(product)], sku) {
		return invalid("sku", "%s is not sold as %q", product, sku)
	}
	var spec Profile
	if err := decodeBody(r.Body, &spec); err != nil {
		return err
	}
	if err := validateProfile(kv.Product(product), sku, &spec); err != nil {
		return err
	}
	body, _ := json.Marshal(spec)
	var out api.Profile
	err := f.store.InTx(r.Context(), func(q db.Querier) error {
		_, rev, err := currentProfile(r.Context(), q, product, sku)
		if err != nil {
			return err
		}
		now := db.Now()
		if err := q.InsertProfile(r.Context(), sqlitegen.InsertProfileParams{
			Product: product, Sku: sku, Version: rev + 1, Spec: string(body), CreatedAt: now, CreatedBy: p.KeyID,
		}); err != nil {
			return err
		}
		at := db.Time(now)
		out = api.Profile{Product: product, SKU: sku, Revision: rev + 1, Spec: spec, CreatedAt: &at, CreatedBy: p.KeyID}
		return db.Enqueue(r.Context(), q, kv.EventSubject(resourceProfile, profileEventID(product, sku)), out)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
