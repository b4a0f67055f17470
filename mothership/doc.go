// Package mothership is Orbit's control plane: it holds Config and the layer cake that
// starts its services, each a package of its own that owns what it writes and nothing else.
// They are choreographed through SQL and the EVENTS stream; every controller is level-based
// (an event only names a resource, the controller re-reads the latest state), so a lost or
// duplicated event costs nothing.
//
// In the order Run starts them (each layer only once the one below is up; /readyz reports
// every layer):
//
//	layer                package              writes (through its query set in db/)              leader-only
//	nats                 (this package)       the hub's buckets and EVENTS stream (created once)
//	database             db                   schema migrations, meta[outbox_epoch]
//	satellite-access     onboarding           satellites (db/onboardingdb); hub users, desired consumers
//	outbox-relay         relay                outbox published marks (db/relaydb) → EVENTS          yes
//	sync                 desiredsync          KV desired and KV credentials, their only writer      yes
//	                                          (reads db/syncdb)
//	scheduler            scheduler            placements (db/schedulerdb) + events.placement         yes
//	physical-controller  physical             physical_clusters, physical_generations, tenancies    yes
//	                                          (db/physicaldb) + events.physical
//	rollout-controller   rollout              rollout_status, rollout_targets, cluster_targets      yes
//	                                          rollout_events (db/rolloutdb) + events.target
//	status-controller    status               cluster_status (db/statusdb), from KV actual           yes
//	usage-meter          usage                usage, meta[usage_cursor] (db/usagedb)                 yes
//	frontend             frontend             tenants, api_keys, kafka_api_keys, logical_clusters,
//	                                          cluster_history, profiles, console_sessions, rollouts,
//	                                          rollout_history, cluster_labels, cluster_pins,
//	                                          maintenance_windows (db/frontenddb)
//	                                          + events.logical/profile/kafkakey;
//	                                          serves the console (mothership/console) too
//	api-listener         (this package)       serves the frontend's handler
//
// Shared, writing nothing: events (the EVENTS payloads), api (the REST types and client),
// internal/controller (the EVENTS-driven workqueue), internal/registry (follows KV
// satellites), internal/profile (product profiles and their defaults), internal/strategy (rollout
// strategies and maintenance windows), internal/ids.
//
// The single-writer rule is structural: the whole query set lives in db/internal, each
// service reaches only its own set, and db's TestEveryTableHasOneWriter fails when a set
// holds another owner's write or a second package imports a set. Leader-only services'
// transactions pass the store's leader fence (db.Store.SetLeaderFence).
package mothership
