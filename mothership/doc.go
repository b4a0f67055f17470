// Package mothership is Orbit's control plane: the REST API (frontend), and the services
// that turn what users ask for into the desired state of every physical cluster, choreographed
// through SQL and the EVENTS stream:
//
//	frontend            validates requests; writes logical_clusters (+ outbox) in one transaction
//	outbox relay        publishes outbox rows to EVENTS (Nats-Msg-Id = <store epoch>-<row id>)
//	physical controller events.logical.*  → physical_clusters, physical_generations (+ outbox)
//	scheduler           events.physical.*, KV satellites → placements (+ outbox)
//	sync service        events.physical.*, events.placement.* → KV desired
//	status controller   KV actual → cluster_status
//	usage meter         cluster_status → usage (CKU- and GiB-hours per tenant and hour)
//
// The frontend also writes cluster_history (who changed what, before and after), api_keys
// and profiles (operators set the defaults of each product and SKU; a new profile is an
// event the physical controller re-renders every cluster of that product and SKU on).
//
// Each service owns what it writes, and nothing else writes it: see the table in package db
// and the bucket table in package kv. Every controller is level-based: an event only names a
// resource; the controller re-reads the latest state and converges, and on start it
// re-reads everything, so a lost or duplicated event costs nothing.
//
// Mothership.Run starts the services as a layer cake, each layer only once the one below
// is up: NATS → database → satellite access → outbox relay → sync → scheduler → physical
// controller → status controller → usage meter → frontend → API listener. /readyz reports
// every layer.
package mothership
