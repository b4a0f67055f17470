package satellite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/orbitcp/orbit/kv"
)

// admin is the cluster's admin client, authenticated as the satellite's super user.
func (op *operator) admin(ctx context.Context, o *PSCObject, out *rendered) (*kadm.Client, error) {
	adm, _, err := op.adminClient(ctx, o, out)
	return adm, err
}

// dataUsage reads what a Kafka cluster holds from Kafka itself: the partitions of its
// topics (metadata; internal topics are the cluster's, not a tenant's, and are left out)
// and their logical bytes from the brokers' log directories (DescribeLogDirs), counting
// one replica per partition: the largest, which is the leader's or the one closest to it.
// On a shared cluster each tenant's share is that of its topics, those named
// "<logical-cluster-id>.…", the prefix its ACLs confine it to.
func dataUsage(ctx context.Context, adm *kadm.Client, tenants []kv.TenantQuota) (*kv.DataUsage, error) {
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	if err := topics.Error(); err != nil {
		return nil, fmt.Errorf("listing topics: %w", err)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("describing log directories: %w", err)
	}
	type tp struct {
		topic     string
		partition int32
	}
	size := map[tp]int64{}
	dirs.Each(func(d kadm.DescribedLogDir) {
		if d.Err != nil {
			return
		}
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			k := tp{p.Topic, p.Partition}
			size[k] = max(size[k], p.Size)
		})
	})
	u := &kv.DataUsage{}
	byTenant := map[string]*kv.TenantUsage{}
	for _, t := range tenants {
		u.Tenants = append(u.Tenants, kv.TenantUsage{ID: t.ID})
	}
	for i := range u.Tenants {
		byTenant[u.Tenants[i].ID] = &u.Tenants[i]
	}
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		t := topics[name]
		var bytes int64
		for p := range t.Partitions {
			bytes += size[tp{name, p}]
		}
		parts := int32(len(t.Partitions))
		u.Partitions += parts
		u.Bytes += bytes
		if id, _, ok := strings.Cut(name, "."); ok {
			if tu := byTenant[id]; tu != nil {
				tu.Partitions += parts
				tu.Bytes += bytes
			}
		}
	}
	return u, nil
}

// observe reads what the cluster holds into st (keeping the last observation when Kafka
// does not answer), then runs the mitigation detectors.
func (op *operator) observeAndMitigate(ctx context.Context, o *PSCObject, out *rendered, st *PSCObjectStatus) {
	adm, err := op.admin(ctx, o, out)
	if err != nil {
		op.log.Warn("kafka admin client", "cluster", o.Name, "error", err)
		return
	}
	if d, err := dataUsage(ctx, adm, o.Spec.Tenants); err == nil {
		st.Data = d
	} else {
		op.log.Warn("reading what the cluster holds failed", "cluster", o.Name, "error", err)
	}
	op.mitigate(ctx, o, out, adm, st)
}
