package satellite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/orbitcp/orbit/kv"
)

// Kafka API keys, level-based: the credentials mirror holds this satellite's sealed keys
// (<satellite>.kafka.<cluster>.<key>); for each Kafka cluster the satellite opens them with
// its curve key and makes Kafka's SCRAM users and ACLs match. Each key is a SCRAM-SHA-512
// user named by its id (kk-…): on a dedicated cluster it may use every topic, group and
// transactional id (not the cluster resource, so not Orbit's principals or ACLs); on a
// shared cluster only those named <logical-cluster-id>.… (prefixed ACLs). A user Orbit
// issued that is no longer in the mirror (revoked, tenant deleted) is deleted from Kafka,
// with its ACLs, except while a mirror rebuilt from a new hub is not yet complete
// (credhold.go). ACLs are compared on every pass (acls.go): drift is repaired. The super
// user is never touched. No credential is logged.

// kafkaKeyUserPrefix starts every SCRAM user Orbit issues as an API key.
const kafkaKeyUserPrefix = "kk-"

// openCredentials reads and opens the cluster's credentials from the mirror. A value that
// does not open (sealed to an older curve key, or by a key other than the control plane's)
// is skipped and reported by key only.
func (op *operator) openCredentials(ctx context.Context, product kv.Product, cluster string) (map[string]*keyCredential, error) {
	prefix := kv.CredentialPrefix(op.satellite, product, cluster)
	lister, err := op.credentials.ListKeysFiltered(ctx, prefix+"*")
	if err != nil {
		return nil, err
	}
	out := map[string]*keyCredential{}
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		entry, err := op.credentials.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc, err := kv.DecodeSealedCredential(entry.Value())
		if err == nil && sc.Key().String() != key {
			err = errors.New("value names another key")
		}
		var cred *kv.KafkaCredential
		if err == nil {
			cred, err = sc.Open(op.curve, op.sender)
		}
		if err != nil {
			op.log.Warn("credential cannot be used; re-onboarded satellites need their keys re-issued", "key", key, "error", err)
			continue
		}
		out[cred.User] = &keyCredential{cred: cred, logical: sc.LogicalCluster}
	}
	return out, nil
}

type keyCredential struct {
	cred    *kv.KafkaCredential
	logical string
}

// reconcileCredentials makes the cluster's SCRAM users and their ACLs match the mirror.
func (op *operator) reconcileCredentials(ctx context.Context, o *PSCObject, out *rendered) error {
	if op.credentials == nil || op.curve == nil {
		return nil
	}
	want, err := op.openCredentials(ctx, kv.ProductKafka, o.Name)
	if err != nil {
		return fmt.Errorf("reading credentials: %w", err)
	}
	adm, err := op.admin(ctx, o, out)
	if err != nil {
		return err
	}
	return op.applyKafkaKeys(ctx, adm, o, want)
}

// applyKafkaKeys makes the cluster's SCRAM users, ACLs and quotas those of want, the keys
// in the mirror.
func (op *operator) applyKafkaKeys(ctx context.Context, adm *kadm.Client, o *PSCObject, want map[string]*keyCredential) error {
	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		return fmt.Errorf("describing SCRAM users: %w", err)
	}
	var (
		upserts []kadm.UpsertSCRAM
		deletes []kadm.DeleteSCRAM
		added   []string
	)
	for name, k := range want {
		if _, ok := described[name]; ok {
			continue
		}
		upserts = append(upserts, kadm.UpsertSCRAM{User: name, Mechanism: kadm.ScramSha512,
			Iterations: int32(k.cred.Iterations), Salt: k.cred.Salt, SaltedPassword: k.cred.SaltedPassword})
		added = append(added, name)
	}
	// A mirror rebuilt from a new hub may still lack live keys: until it is complete, no
	// user and no ACL goes.
	prune := op.credentialHold.complete(ctx)
	var removed []string
	for name := range described {
		if prune && strings.HasPrefix(name, kafkaKeyUserPrefix) && name != superUserName && want[name] == nil {
			deletes = append(deletes, kadm.DeleteSCRAM{User: name, Mechanism: kadm.ScramSha512})
			removed = append(removed, name)
		}
	}
	shared := len(o.Spec.Tenants) > 0
	var wantACLs []aclEntry
	for name, k := range want {
		wantACLs = append(wantACLs, keyACLEntries(name, k.logical, shared)...)
	}
	pscs, err := op.kube.listPSCs()
	if err != nil {
		return err
	}
	for _, w := range attachedWorkers(pscs, o.Name) {
		wantACLs = append(wantACLs, workerACLEntries(w, shared, o.Spec.Tenants)...)
	}
	haveACLs, err := describeAllACLs(ctx, adm)
	if err != nil {
		return err
	}
	missingACLs, extraACLs := aclDiff(wantACLs, haveACLs)
	// ACLs first for a new key, so that it never authenticates without them.
	if err := createACLEntries(ctx, adm, missingACLs); err != nil {
		return err
	}
	if len(upserts) > 0 || len(deletes) > 0 {
		res, err := adm.AlterUserSCRAMs(ctx, deletes, upserts)
		if err != nil {
			return fmt.Errorf("altering SCRAM users: %w", err)
		}
		for _, r := range res {
			if r.Err != nil {
				return fmt.Errorf("SCRAM user %s: %w", r.User, r.Err)
			}
		}
	}
	// Then the ACLs no key needs: a removed key's, and any added out of band.
	if !prune {
		extraACLs = nil
	}
	if err := deleteACLEntries(ctx, adm, extraACLs); err != nil {
		return err
	}
	if shared {
		if err := applyQuotas(ctx, adm, o.Spec.Tenants, want, removed); err != nil {
			return err
		}
	}
	if len(added) > 0 || len(removed) > 0 {
		slices.Sort(added)
		slices.Sort(removed)
		op.log.Info("kafka api keys applied", "cluster", o.Name, "added", added, "removed", removed)
	}
	if len(missingACLs) > 0 || len(extraACLs) > 0 {
		op.log.Info("kafka acls applied", "cluster", o.Name, "created", aclStrings(missingACLs), "deleted", aclStrings(extraACLs))
	}
	return nil
}

func createACLs(ctx context.Context, adm *kadm.Client, b *kadm.ACLBuilder) error {
	res, err := adm.CreateACLs(ctx, b)
	if err != nil {
		return fmt.Errorf("creating ACLs: %w", err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("creating ACL for %s on %s: %w", r.Principal, r.Name, r.Err)
		}
	}
	return nil
}

// followCredentials queues a cluster for the operator whenever one of its keys in the
// credentials mirror changes. When the heartbeat finds a new hub (newHub), it holds
// deletions (op.credentialHold), starts the mirror over (remirror) and follows the new one;
// once the rebuilt mirror is complete, it queues every cluster, so that the keys the
// restored mothership no longer holds go.
func (s *Satellite) followCredentials(ctx context.Context, link *hubLink, watcher jetstream.KeyWatcher, op *operator, enqueue func(string), newHub <-chan struct{}) error {
	defer func() { _ = watcher.Stop() }() // the one followed last
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-newHub:
			op.credentialHold.start()
			_ = watcher.Stop()
			w, err := s.remirror(ctx, link, kv.BucketCredentials)
			if err != nil {
				return nil // ctx ended
			}
			watcher = w
		case <-check.C:
			if !op.credentialHold.rebuilding() || !op.credentialHold.complete(ctx) {
				continue
			}
			s.log.Info("credentials mirror rebuilt from the new hub: keys missing from it are deleted again")
			pscs, err := op.kube.listPSCs()
			if err != nil {
				s.log.Warn("listing clusters after the credentials rebuild", "error", err)
				continue
			}
			for _, o := range pscs {
				enqueue(o.Name)
			}
		case e, ok := <-watcher.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				continue
			}
			if k, err := kv.ParseCredentialKey(e.Key()); err == nil {
				enqueue(k.Cluster)
			}
		}
	}
}

// quotaKeys are the Kafka client quota types a tenant's quota sets.
var quotaKeys = []string{"producer_byte_rate", "consumer_byte_rate"}

// applyQuotas sets each tenant's byte-rate quotas on its keys' principals through the Admin
// API. Kafka enforces a user quota per principal, so a tenant with n keys gets its quota
// divided among them (each key 1/n of it, at least 1 byte/s): together they never exceed the
// tenant's share. Removed keys lose their quotas.
func applyQuotas(ctx context.Context, adm *kadm.Client, tenants []kv.TenantQuota, keys map[string]*keyCredential, removed []string) error {
	byTenant := map[string][]string{}
	for name, k := range keys {
		byTenant[k.logical] = append(byTenant[k.logical], name)
	}
	var entries []kadm.AlterClientQuotaEntry
	entity := func(name string) kadm.ClientQuotaEntity {
		return kadm.ClientQuotaEntity{{Type: "user", Name: &name}}
	}
	for _, t := range tenants {
		names := byTenant[t.ID]
		for _, name := range names {
			var ops []kadm.AlterClientQuotaOp
			for i, total := range []int64{t.ProducerByteRate, t.ConsumerByteRate} {
				if total <= 0 {
					ops = append(ops, kadm.AlterClientQuotaOp{Key: quotaKeys[i], Remove: true})
					continue
				}
				ops = append(ops, kadm.AlterClientQuotaOp{Key: quotaKeys[i], Value: float64(max(total/int64(len(names)), 1))})
			}
			entries = append(entries, kadm.AlterClientQuotaEntry{Entity: entity(name), Ops: ops})
		}
	}
	for _, name := range removed {
		var ops []kadm.AlterClientQuotaOp
		for _, k := range quotaKeys {
			ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
		}
		entries = append(entries, kadm.AlterClientQuotaEntry{Entity: entity(name), Ops: ops})
	}
	if len(entries) == 0 {
		return nil
	}
	res, err := adm.AlterClientQuotas(ctx, entries)
	if err != nil {
		return fmt.Errorf("altering client quotas: %w", err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("client quotas of %v: %w", r.Entity, r.Err)
		}
	}
	return nil
}
