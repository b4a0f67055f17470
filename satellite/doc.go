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
//	local JetStream (own domain)   the KV_desired mirror
//	Kubernetes                     objects labelled app.kubernetes.io/managed-by=orbit-satellite
//	                               and orbit.dev/satellite=<this satellite>, applied with the
//	                               field manager "orbit-satellite"
//
// It never imports the mothership or its database: the kv package is the whole contract.
package satellite
