package frontend

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/profile"
	"github.com/orbitcp/orbit/mothership/internal/strategy"
)

// validateProfile checks a profile for product and SKU; fields are named as in its JSON.
func validateProfile(product kv.Product, sku string, p *profile.Profile) error {
	if profile.MultiTenant(sku) {
		if p.TenantsPerCluster < 1 || p.TenantsPerCluster > kv.MaxTenants {
			return invalid("tenantsPerCluster", "a %s profile needs between 1 and %d", sku, kv.MaxTenants)
		}
		if q := p.TenantQuotas; q != nil && (q.ProducerByteRate < 0 || q.ConsumerByteRate < 0) {
			return invalid("tenantQuotas", "must not be negative")
		}
	} else if p.TenantsPerCluster != 0 || p.TenantQuotas != nil {
		return invalid("tenantsPerCluster", "only the basic and standard SKUs are shared")
	}
	switch {
	case kv.ValidateVersion("version", p.Version) != nil:
		return asFieldErr("", kv.ValidateVersion("version", p.Version))
	case p.ReplicasPerCKU < 1 || p.ReplicasPerCKU*MaxCKU > kv.MaxReplicas:
		return invalid("replicasPerCKU", "must be between 1 and %d", kv.MaxReplicas/MaxCKU)
	case p.Controllers < 0 || p.Controllers > kv.MaxControllers || (p.Controllers > 0 && product != kv.ProductKafka):
		return invalid("controllers", "must be between 0 and %d, and only for kafka", kv.MaxControllers)
	case p.StorageGiB < 1 || p.StorageGiB > kv.MaxStorageGiB:
		return invalid("storageGiB", "must be between 1 and %d", kv.MaxStorageGiB)
	}
	if p.StorageClass != "" {
		if err := kv.ValidateName("storageClass", p.StorageClass); err != nil {
			return asFieldErr("", err)
		}
	}
	if err := kv.ValidateConfig("config", p.Config); err != nil {
		return asFieldErr("", err)
	}
	switch t := p.ReplicationThrottleBytesPerSecond; {
	case t != 0 && product != kv.ProductKafka:
		return invalid("replicationThrottleBytesPerSecond", "only kafka moves replicas")
	case t < 0 || (t > 0 && t < MinReplicationThrottle):
		return invalid("replicationThrottleBytesPerSecond", "must be 0 (the satellite's default) or at least %d", MinReplicationThrottle)
	}
	if product == kv.ProductKafka {
		return checkKafkaProfile(p)
	}
	return nil
}

// MinReplicationThrottle is the smallest replication throttle a profile may set (1 MiB/s
// per broker): below it a rebalance or drain would hardly move.
const MinReplicationThrottle = 1 << 20

// checkKafkaProfile refuses a Kafka version the satellites cannot run, and configuration
// keys that the version does not define or that Orbit owns (listeners, security, quorum,
// identity), naming the first such key.
func checkKafkaProfile(p *profile.Profile) error {
	if _, err := kafkaconf.VersionOf(p.Version); err != nil {
		return invalid("version", "%v", err)
	}
	err := kafkaconf.CheckProfileKeys(p.Version, p.Config)
	var ke *kafkaconf.KeyError
	if errors.As(err, &ke) {
		return invalid("config."+ke.Key, "%s", ke.Reason)
	}
	return err
}

func (f *Frontend) listProfiles(w http.ResponseWriter, r *http.Request, _ *principal) error {
	out := []api.Profile{}
	for _, product := range kv.Products {
		for _, sku := range profile.ProductSKUs[product] {
			prof, rev, err := profile.Current(r.Context(), f.store.Read(), string(product), sku)
			if err != nil {
				return err
			}
			v := api.Profile{Product: string(product), SKU: sku, Revision: rev, Spec: prof}
			if rev > 0 {
				row, err := f.store.Read().GetCurrentProfile(r.Context(), db.GetCurrentProfileParams{Product: string(product), Sku: sku})
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

// setProfile records a new revision of a product and SKU's profile and publishes it, with
// a rollout of it to every cluster of that product and SKU (the default strategy, or all at
// once with ?rollout=all-at-once; ?soak= sets its soak time); a rollout still running for them is superseded.
func (f *Frontend) setProfile(w http.ResponseWriter, r *http.Request, p *principal) error {
	product, sku := r.PathValue("product"), r.PathValue("sku")
	if err := kv.Product(product).Validate("product"); err != nil {
		return asFieldErr("", err)
	}
	if !slices.Contains(profile.ProductSKUs[kv.Product(product)], sku) {
		return invalid("sku", "%s is not sold as %q", product, sku)
	}
	var spec profile.Profile
	if err := decodeBody(r.Body, &spec); err != nil {
		return err
	}
	if err := validateProfile(kv.Product(product), sku, &spec); err != nil {
		return err
	}
	strat := strategy.DefaultStrategy()
	switch rollout := r.URL.Query().Get("rollout"); rollout {
	case "", "default":
	case "all-at-once":
		strat = api.RolloutStrategy{AllAtOnce: true}
	default:
		return invalid("rollout", "%q is not default or all-at-once", rollout)
	}
	if soak := r.URL.Query().Get("soak"); soak != "" {
		d, err := time.ParseDuration(soak)
		if err != nil || d < 0 {
			return invalid("soak", "%q is not a duration such as 30s", soak)
		}
		strat.Soak = api.Duration(d)
	}
	body, _ := json.Marshal(spec)
	var out api.Profile
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		_, rev, err := profile.Current(r.Context(), q, product, sku)
		if err != nil {
			return err
		}
		now := db.Now()
		if err := q.InsertProfile(r.Context(), db.InsertProfileParams{
			Product: product, Sku: sku, Version: rev + 1, Spec: string(body), CreatedAt: now, CreatedBy: p.KeyID,
		}); err != nil {
			return err
		}
		at := db.Time(now)
		out = api.Profile{Product: product, SKU: sku, Revision: rev + 1, Spec: spec, CreatedAt: &at, CreatedBy: p.KeyID}
		// The new revision reaches existing clusters through a rollout, never all at once
		// unless asked for by name; new clusters start at it right away.
		if out.Rollout, err = insertRollout(r.Context(), q, p, "rollout", "", product, sku, rev+1, api.Selector{}, strat); err != nil {
			return err
		}
		return events.Append(r.Context(), q, &events.Profile{Product: product, SKU: sku, Revision: rev + 1, By: p.KeyID, At: at})
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
