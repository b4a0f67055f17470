// Package leafnode owns everything that configures an embedded nats-server for Orbit: the
// mothership's hub (JetStream domain "hub", client and leaf-node listeners, the users of
// the mothership and of every satellite with their permissions) and a satellite's leaf
// node (its own JetStream domain, one remote to the hub authenticated with that
// satellite's nkey). The mothership writes hub configuration; each satellite writes only
// its own leaf configuration.
//
// Satellites are identified by nkeys, not JWTs: the hub is embedded in and configured by
// the mothership, which keeps the satellites table, so plain nkey users with server-side
// permissions need no operator, account or resolver machinery; a satellite holds only its
// seed, and the mothership adds or revokes a user by reloading the hub (a revocation also
// closes the leaf connections, see Hub.SetSatellites).
//
// In production the hub is a cluster of three such servers (ClusterConfig): the one the
// mothership embeds and two run by `mothership hub`, which take their satellite users from
// the same database. JetStream replicates the buckets across them, so a node may die
// without losing a write or a satellite's connection (it reconnects to another node).
//
// Isolation between satellites rests on three facts:
//
//   - Leaf connections authenticate as regular nkey users of the hub. nats-server ignores
//     permissions on users listed under the leafnode authorization block, so none are.
//   - A satellite never creates consumers. The mothership creates one durable push
//     consumer per satellite and mirrored bucket (desired and credentials: kv.MirrorConsumer)
//     whose filter is that satellite's keys and whose deliver subject is that satellite's own; the satellite's mirror only resets it
//     (nats-server durable sourcing) and may not create, update or delete any consumer.
//   - The satellite's leaf server uses the scoped JetStream API reply format, so even the
//     reply subjects it may receive name its own consumer.
//
// Operators' read-only credentials (HubConfig.Readers, ReaderPermissions) may not publish
// to the JetStream API: they use ReaderAPIPrefix, which the hub's in-process reader
// gateway answers, passing on reads and ephemeral consumer creations only (subject
// permissions alone cannot tell a durable consumer from an ephemeral one). Each hub server
// also serves its own Prometheus metrics (Hub.MetricsHandler).
package leafnode
