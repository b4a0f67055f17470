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
//	                               field manager "orbit-satellite"
//	Kafka (Admin API, super user)  SCRAM-SHA-512 users of the Kafka API keys (kk-…) opened from
//	                               the credentials mirror with this satellite's curve seed,
//	                               their ACLs (whole cluster when dedicated, the logical
//	                               cluster's prefix when shared) and, on shared clusters, their
//	                               client quotas (the tenant's byte rates divided among its
//	                               keys); Orbit-issued users no longer mirrored are deleted;
//	                               the ACLs of the attached ksqlDB and Connect clusters'
//	                               own principals (their certificates' subjects); every ACL
//	                               of the cluster is Orbit's: each pass (at least every
//	                               30 s) re-creates missing ones and deletes the rest
//
// It never imports the mothership or its database: the kv package is the whole contract.
package satellite
