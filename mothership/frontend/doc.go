// Package frontend is the mothership's REST API (/v1) and the backend of its browser
// console (mothership/console, mounted under /console). It is the only writer of tenants,
// api_keys, kafka_api_keys, logical_clusters, cluster_history, profiles and
// console_sessions (through db/frontenddb), appending each change's event to the outbox in
// the same transaction; every replica serves it.
//
// Authentication: an API key (Authorization: Bearer), or a console session, whose calls
// reach the same handlers in-process with the session's principal, so the console is
// authorized exactly as the API is.
package frontend
