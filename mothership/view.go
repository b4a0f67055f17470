package mothership

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
)

// clusterView assembles the API's view of a logical cluster from what each service
// recorded: the physical cluster, its placement and the status its satellite reported.
func clusterView(ctx context.Context, q db.Querier, l sqlitegen.LogicalCluster) (api.Cluster, error) {
	c := api.Cluster{
		ID: l.ID, Name: l.Name, Product: l.Product, SKU: l.Sku, CKU: int(l.Cku),
		Region: l.Region, Cloud: l.Cloud, Network: l.Network, Generation: l.Generation,
		CreatedAt: db.Time(l.CreatedAt), UpdatedAt: db.Time(l.UpdatedAt), DeletedAt: db.NullTime(l.DeletedAt),
	}
	p, err := q.GetPhysicalClusterByLogical(ctx, l.ID)
	if db.NotFound(err) {
		c.Status = pendingStatus(l, "waiting for the physical controller")
		return c, nil
	}
	if err != nil {
		return c, err
	}
	c.Status.Brokers = int(p.Replicas)
	pl, err := q.GetPlacement(ctx, p.ID)
	if err != nil && !db.NotFound(err) {
		return c, err
	}
	if db.NotFound(err) || !pl.Satellite.Valid {
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
	if err != nil && !db.NotFound(err) {
		return c, err
	}
	if db.NotFound(err) || st.Satellite != pl.Satellite.String {
		c.Status.Phase = api.PhaseProvisioning
		c.Status.Reason = fmt.Sprintf("waiting for satellite %s to report", pl.Satellite.String)
		if l.DeletedAt.Valid {
			c.Status.Phase = api.PhaseDeleting
		}
		return c, nil
	}
	observed, err := q.ObservedLogicalGeneration(ctx, sqlitegen.ObservedLogicalGenerationParams{
		PhysicalClusterID: p.ID, LogicalClusterID: l.ID, ObservedGeneration: st.ObservedGeneration,
	})
	if err != nil {
		return c, err
	}
	c.Status.ObservedGeneration = observed
	c.Status.ReadyBrokers = int(st.ReadyReplicas)
	c.Status.Bootstrap = st.Bootstrap
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
	c.Status.Phase, c.Status.Reason = phase(l, p, st, observed)
	return c, nil
}

// reasonPurged is the reason of a deleted cluster whose volumes are gone too.
const reasonPurged = "purged: workloads and volumes removed"

func pendingStatus(l sqlitegen.LogicalCluster, reason string) api.Status {
	if l.DeletedAt.Valid {
		return api.Status{Phase: api.PhaseDeleted, Reason: "deleted before it was placed"}
	}
	return api.Status{Phase: api.PhasePending, Reason: reason}
}

// phase derives the cluster's phase from the satellite's report.
func phase(l sqlitegen.LogicalCluster, p sqlitegen.PhysicalCluster, st sqlitegen.ClusterStatus, observed int64) (string, string) {
	current := observed >= l.Generation
	stalled := st.Phase == string(kv.PhaseFailed)
	switch {
	case l.DeletedAt.Valid && !p.DeletedAt.Valid:
		// A tenant of a shared cluster: gone once the cluster runs without it.
		if current {
			return api.PhaseDeleted, "removed from its shared cluster"
		}
		return api.PhaseDeleting, fmt.Sprintf("satellite %s is removing it from its shared cluster", st.Satellite)
	case l.DeletedAt.Valid:
		if current && st.Phase == string(kv.PhasePurged) {
			return api.PhaseDeleted, reasonPurged
		}
		if current && st.Phase == string(kv.PhaseDeleted) {
			return api.PhaseDeleted, firstNonEmpty(st.Message, st.Reason)
		}
		if current {
			return api.PhaseDeleting, firstNonEmpty(st.Message, st.Reason)
		}
		return api.PhaseDeleting, fmt.Sprintf("satellite %s is removing the workloads", st.Satellite)
	case stalled:
		return api.PhaseDegraded, firstNonEmpty(st.Message, st.Reason)
	case !current:
		return api.PhaseProvisioning, fmt.Sprintf("satellite %s is converging generation %d (observed %d)", st.Satellite, l.Generation, observed)
	}
	switch kv.Phase(st.Phase) {
	case kv.PhaseReady:
		return api.PhaseReady, ""
	case kv.PhaseDegraded:
		return api.PhaseDegraded, firstNonEmpty(st.Message, st.Reason)
	default:
		return api.PhaseProvisioning, firstNonEmpty(st.Message, st.Reason, fmt.Sprintf("%d of %d brokers ready", st.ReadyReplicas, p.Replicas))
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
