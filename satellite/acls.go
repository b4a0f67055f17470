package satellite

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/kv"
)

// ACLs, level-based like everything else Kafka holds: the satellite owns every ACL of the
// clusters it runs (no one else may create ACLs: no key has the cluster resource). Each
// reconcile pass describes them all and compares them with what the mirrored keys and the
// attached ksqlDB and Connect clusters need: an
// ACL missing from Kafka (deleted out of band) is created again, one Kafka has that no key
// needs (added out of band, or left by a revoked key) is deleted. A worker's principal has
// its own internal state plus the user-data scope of the logical Kafka cluster it works
// for, the same an API key of that cluster has (workerACLEntries), so its connectors and
// queries reach the tenant's topics; its ACLs go with it when it is deleted.

// aclEntry is one ACL as Kafka holds it.
type aclEntry struct {
	Principal  string
	Host       string
	Type       kmsg.ACLResourceType
	Name       string
	Pattern    kadm.ACLPattern
	Operation  kadm.ACLOperation
	Permission kmsg.ACLPermissionType
}

func (a aclEntry) String() string {
	return fmt.Sprintf("%s %s %s %s:%s(%s) from %s", a.Permission, a.Principal, a.Operation, a.Type, a.Name, a.Pattern, a.Host)
}

// keyACLEntries are the ACLs of one key: ALL on topics, groups and transactional ids,
// literal "*" on a dedicated cluster, prefixed "<logical>." on a shared one, from any host;
// never the cluster resource (so not Orbit's principals or ACLs). The user-data scope of a
// worker attached to the logical cluster is the same (workerACLEntries).
func keyACLEntries(user, logical string, shared bool) []aclEntry {
	name, pattern := "*", kadm.ACLPatternLiteral
	if shared {
		name, pattern = logical+".", kadm.ACLPatternPrefixed
	}
	var out []aclEntry
	for _, t := range []kmsg.ACLResourceType{kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup, kmsg.ACLResourceTypeTransactionalId} {
		out = append(out, aclEntry{Principal: "User:" + user, Host: "*", Type: t, Name: name, Pattern: pattern,
			Operation: kadm.OpAll, Permission: kmsg.ACLPermissionTypeAllow})
	}
	return out
}

// workerACLEntries are the ACLs of a ksqlDB or Connect cluster's own principal on its Kafka
// cluster: the subject of its certificate (User:CN=<id>,OU=<product>,O=orbit), with which
// it authenticates on the INTERNAL listener (mutual TLS; see workers.go). It never gets the
// cluster resource. It gets its own internal state:
//
//   - ksqlDB (ksql.service.id <id>_): every topic and consumer group prefixed
//     _confluent-ksql-<id>_ (its command topic, internal topics and query groups), its
//     processing log topic <id>_ksql_processing_log, and transactional ids prefixed <id>_
//     (exactly-once queries);
//   - Connect: its config, offset and status topics (_connect-<id>-…) and its group <id>;
//
// and, since its connectors and queries run under the same principal, the user-data scope
// an API key of the logical Kafka cluster it works for has (keyACLEntries): on a dedicated
// cluster every topic, group and transactional id; on a shared one (shared) only those of
// its tenant, prefixed "<spec.kafka.logical>.", and none when the spec names no tenant or
// that tenant is not (or no longer) hosted there.
func workerACLEntries(o *PSCObject, shared bool, tenants []kv.TenantQuota) []aclEntry {
	subject := certSubject(o.Spec.Product, o.Name).String()
	entry := func(t kmsg.ACLResourceType, name string, pattern kadm.ACLPattern) aclEntry {
		return aclEntry{Principal: "User:" + subject, Host: "*", Type: t, Name: name, Pattern: pattern,
			Operation: kadm.OpAll, Permission: kmsg.ACLPermissionTypeAllow}
	}
	var out []aclEntry
	logical := o.Spec.Kafka.Logical
	hosted := slices.ContainsFunc(tenants, func(t kv.TenantQuota) bool { return t.ID == logical })
	if !shared || (logical != "" && hosted) {
		out = keyACLEntries(subject, logical, shared)
	}
	switch o.Spec.Product {
	case kv.ProductKsqlDB:
		id := ksqlServiceID(o.Name)
		return append(out,
			entry(kmsg.ACLResourceTypeTopic, "_confluent-ksql-"+id, kadm.ACLPatternPrefixed),
			entry(kmsg.ACLResourceTypeGroup, "_confluent-ksql-"+id, kadm.ACLPatternPrefixed),
			entry(kmsg.ACLResourceTypeTopic, id+"ksql_processing_log", kadm.ACLPatternLiteral),
			entry(kmsg.ACLResourceTypeTransactionalId, id, kadm.ACLPatternPrefixed),
		)
	case kv.ProductConnect:
		for _, topic := range connectTopics(o.Name) {
			out = append(out, entry(kmsg.ACLResourceTypeTopic, topic, kadm.ACLPatternLiteral))
		}
		return append(out, entry(kmsg.ACLResourceTypeGroup, o.Name, kadm.ACLPatternLiteral))
	}
	return nil
}

// attachedWorkers are the live ksqlDB and Connect clusters that use Kafka cluster id.
func attachedWorkers(pscs []*PSCObject, id string) []*PSCObject {
	var out []*PSCObject
	for _, o := range pscs {
		if o.Spec.Kafka != nil && o.Spec.Kafka.ID == id && !o.Spec.Deleted &&
			(o.Spec.Product == kv.ProductKsqlDB || o.Spec.Product == kv.ProductConnect) {
			out = append(out, o)
		}
	}
	return out
}

// describeAllACLs returns every ACL of the cluster.
func describeAllACLs(ctx context.Context, adm *kadm.Client) ([]aclEntry, error) {
	all := kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny).
		Allow().AllowHosts().Deny().DenyHosts()
	res, err := adm.DescribeACLs(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("describing ACLs: %w", err)
	}
	seen := map[aclEntry]bool{}
	var out []aclEntry
	for _, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("describing ACLs: %w", r.Err)
		}
		for _, d := range r.Described {
			e := aclEntry{Principal: d.Principal, Host: d.Host, Type: d.Type, Name: d.Name, Pattern: d.Pattern,
				Operation: d.Operation, Permission: d.Permission}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// aclBuilder is a builder matching exactly one ACL (for create and delete).
func aclBuilder(e aclEntry) (*kadm.ACLBuilder, error) {
	b := kadm.NewACLs().ResourcePatternType(e.Pattern).Operations(e.Operation)
	switch e.Permission {
	case kmsg.ACLPermissionTypeAllow:
		b.Allow(e.Principal).AllowHosts(e.Host)
	case kmsg.ACLPermissionTypeDeny:
		b.Deny(e.Principal).DenyHosts(e.Host)
	default:
		return nil, fmt.Errorf("ACL %s: unknown permission", e)
	}
	switch e.Type {
	case kmsg.ACLResourceTypeTopic:
		b.Topics(e.Name)
	case kmsg.ACLResourceTypeGroup:
		b.Groups(e.Name)
	case kmsg.ACLResourceTypeTransactionalId:
		b.TransactionalIDs(e.Name)
	case kmsg.ACLResourceTypeDelegationToken:
		b.DelegationTokens(e.Name)
	case kmsg.ACLResourceTypeCluster:
		b.Clusters()
	default:
		return nil, fmt.Errorf("ACL %s: unknown resource type", e)
	}
	return b, nil
}

// aclDiff is what makes the cluster's ACLs equal want.
func aclDiff(want, have []aclEntry) (missing, extra []aclEntry) {
	wantSet := map[aclEntry]bool{}
	for _, e := range want {
		wantSet[e] = true
	}
	haveSet := map[aclEntry]bool{}
	for _, e := range have {
		haveSet[e] = true
		if !wantSet[e] {
			extra = append(extra, e)
		}
	}
	for _, e := range want {
		if !haveSet[e] {
			missing = append(missing, e)
			haveSet[e] = true
		}
	}
	return missing, extra
}

// createACLEntries creates each ACL.
func createACLEntries(ctx context.Context, adm *kadm.Client, entries []aclEntry) error {
	for _, e := range entries {
		b, err := aclBuilder(e)
		if err != nil {
			return err
		}
		if err := createACLs(ctx, adm, b); err != nil {
			return err
		}
	}
	return nil
}

// deleteACLEntries deletes each ACL (its exact filter matches it alone).
func deleteACLEntries(ctx context.Context, adm *kadm.Client, entries []aclEntry) error {
	for _, e := range entries {
		b, err := aclBuilder(e)
		if err != nil {
			return err
		}
		res, err := adm.DeleteACLs(ctx, b)
		if err != nil {
			return fmt.Errorf("deleting ACL %s: %w", e, err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("deleting ACL %s: %w", e, r.Err)
			}
		}
	}
	return nil
}

// aclStrings lists entries for a log line, sorted.
func aclStrings(entries []aclEntry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.String())
	}
	slices.Sort(out)
	return out
}
