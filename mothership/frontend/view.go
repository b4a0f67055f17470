package frontend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/profile"
	"github.com/orbitcp/orbit/mothership/status"
)

// clusterView assembles the API's view of a logical cluster from what each service
// recorded: the physical cluster, its placement and the status its satellite reported.
func clusterView(ctx context.Context, q frontenddb.Queries, l db.LogicalCluster) (api.Cluster, error) {
	c := api.Cluster{
		ID: l.ID, Name: l.Name, Product: l.Product, SKU: l.Sku, CKU: int(l.Cku),
		Region: l.Region, Cloud: l.Cloud, Network: l.Network, Generation: l.Generation, Mitigation: l.Mitigation,
		CreatedAt: db.Time(l.CreatedAt), UpdatedAt: db.Time(l.UpdatedAt), DeletedAt: db.NullTime(l.DeletedAt),
	}
	p, err := q.GetPhysicalClusterByLogical(ctx, l.ID)
	if errors.Is(err, db.ErrNotFound) {
		c.Status = pendingStatus(l, "waiting for the physical controller")
		return c, nil
	}
	if err != nil {
		return c, err
	}
	c.Status.Brokers = int(p.Replicas)
	pl, err := q.GetPlacement(ctx, p.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return c, err
	}
	if errors.Is(err, db.ErrNotFound) || !pl.Satellite.Valid {
		reason := "waiting for the scheduler"
		if err == nil {
			reason = pl.Reason
		}
		c.Status = pendingStatus(l, reason)
		c.Status.Brokers = int(p.Replicas)
		return c, nil
	}
	c.Status.Satellite = pl.Satellite.String
	st, err := q.GetClusterStatus(ctx, p.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return c, err
	}
	if errors.Is(err, db.ErrNotFound) || st.Satellite != pl.Satellite.String {
		c.Status.Phase = api.PhaseProvisioning
		c.Status.Reason = fmt.Sprintf("waiting for satellite %s to report", pl.Satellite.String)
		if l.DeletedAt.Valid {
			c.Status.Phase = api.PhaseDeleting
		}
		return c, nil
	}
	observed, err := q.ObservedLogicalGeneration(ctx, db.ObservedLogicalGenerationParams{
		PhysicalClusterID: p.ID, LogicalClusterID: l.ID, ObservedGeneration: st.ObservedGeneration,
	})
	if err != nil {
		return c, err
	}
	c.Status.ObservedGeneration = observed
	c.Status.ReadyBrokers = int(st.ReadyReplicas)
	c.Status.Bootstrap = st.Bootstrap
	c.Status.CACertificate, c.Status.CertificateSerial = st.CaCertificate, st.CertificateSerial
	c.Status.BootstrapHost = st.BootstrapHost
	if err := json.Unmarshal([]byte(st.Conditions), &c.Status.Conditions); err != nil {
		return c, fmt.Errorf("status of %s: conditions: %w", p.ID, err)
	}
	// Conditions speak of physical generations; the API speaks of the cluster's.
	for i := range c.Status.Conditions {
		if c.Status.Conditions[i].ObservedGeneration == p.Generation {
			c.Status.Conditions[i].ObservedGeneration = l.Generation
		} else if c.Status.Conditions[i].ObservedGeneration == st.ObservedGeneration {
			c.Status.Conditions[i].ObservedGeneration = observed
		}
	}
	c.Status.Phase, c.Status.Reason = status.Phase(l, p, st, observed)
	if st.KafkaHealth != "" {
		var h kv.KafkaHealth
		if err := json.Unmarshal([]byte(st.KafkaHealth), &h); err != nil {
			return c, fmt.Errorf("status of %s: kafka health: %w", p.ID, err)
		}
		c.Status.Kafka = kafkaNumbers(h, l)
		if c.Status.Kafka != nil && h.MetadataVersion > 0 {
			c.Status.Kafka.MetadataVersion = kafkaconf.MetadataVersionName(h.MetadataVersion)
		}
	}
	return c, nil
}

// kafkaNumbers is what logical cluster l may see of its physical cluster's health: all of
// it on a dedicated cluster, its own share on a shared one (nil before its share is read).
func kafkaNumbers(h kv.KafkaHealth, l db.LogicalCluster) *api.KafkaNumbers {
	if !profile.MultiTenant(l.Sku) {
		return &api.KafkaNumbers{Partitions: int(h.Partitions), BytesOnDisk: h.BytesOnDisk,
			UnderReplicated: int(h.UnderReplicated), Offline: int(h.Offline)}
	}
	for _, t := range h.Tenants {
		if t.ID == l.ID {
			return &api.KafkaNumbers{Partitions: int(t.Partitions), BytesOnDisk: t.BytesOnDisk,
				UnderReplicated: int(t.UnderReplicated), Offline: int(h.Offline)}
		}
	}
	return nil
}

func pendingStatus(l db.LogicalCluster, reason string) api.Status {
	if l.DeletedAt.Valid {
		return api.Status{Phase: api.PhaseDeleted, Reason: "deleted before it was placed"}
	}
	return api.Status{Phase: api.PhasePending, Reason: reason}
}
