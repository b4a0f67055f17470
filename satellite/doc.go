// Package satellite is Orbit's per-region agent. It runs a NATS leaf node whose JetStream
// mirrors only this satellite's desired keys from the hub, watches them, and converges each
// physical stateful cluster (PSC) on the local Kubernetes with server-side apply; it reports
// actual state back to the hub and registers itself with a heartbeat. It keeps converging
// and repairing drift from its local mirror when the hub or the mothership is away.
//
// What it writes, and nothing else:
//
//	where                          what
//	hub KV actual                  <this satellite>.<product>.<id> (status of each cluster)
//	hub KV satellites              <this satellite> (registration and heartbeat)
//	local JetStream (own domain)   the KV_desired and KV_credentials mirrors
//	Kubernetes                     objects labelled app.kubernetes.io/managed-by=orbit-satellite
//	                               and orbit.dev/satellite=<this satellite>, applied with the
//	                               field manager "orbit-satellite"; the claims of those
//	                               objects' StatefulSets grow (spec.resources.requests) for a
//	                               bigger disk, and a StatefulSet whose claim templates change
//	                               is deleted orphaning its pods and applied again (storage.go);
//	                               among them each ksqlDB and Connect cluster's rest-users
//	                               Secret, kept holding exactly the REST API keys (rk-…)
//	                               opened from the credentials mirror (restusers.go)
//	Kubernetes Events              namespace default, on PSC objects: automated mitigation
//	                               actions (mitigation.go), which may also delete a broker
//	                               pod Kafka does not see and grow a full broker's claim
//	Kafka (Admin API, super user)  SCRAM-SHA-512 users of the Kafka API keys (kk-…) opened from
//	                               the credentials mirror with this satellite's curve seed,
//	                               their ACLs (whole cluster when dedicated, the logical
//	                               cluster's prefix when shared) and, on shared clusters, their
//	                               client quotas (the tenant's byte rates divided among its
//	                               keys); Orbit-issued users no longer mirrored are deleted;
//	                               the ACLs of the attached ksqlDB and Connect clusters'
//	                               own principals (their certificates' subjects); every ACL
//	                               of the cluster is Orbit's: each pass (at least every
//	                               30 s) re-creates missing ones and deletes the rest;
//	                               partition reassignments (rebalance after a scale-up, drain
//	                               before a scale-down), the replication throttle
//	                               (leader/follower.replication.throttled.rate) while they run,
//	                               UnregisterBroker for brokers removed, and the finalized
//	                               metadata.version the PSC asks for (UpdateFeatures, upgrade
//	                               only, once Ready on the version: finalize.go)
//
// Resizes move data (rebalance.go, balance.go), and a Kafka cluster's health is read from
// Kafka itself (health.go): Ready needs every broker registered and unfenced, a quorum
// leader and no offline partition.
//
// It reads from Kafka, for actual state, what each cluster holds (partitions and logical
// bytes, per tenant prefix on shared clusters: datausage.go) and what the mitigation
// detectors need (brokers, in-sync replicas, log directory use).
//
// It never imports the mothership or its database: the kv package is the whole contract.
package satellite
