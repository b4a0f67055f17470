// Package db is the mothership's store: the SQL schema and its migrations, the queries that
// sqlc compiles from queries/*.sql for both engines (SQLite, the embedded default, and
// PostgreSQL, for production), and Store, which opens either, migrates it and runs
// transactions. Only the mothership imports it; satellites never touch SQL.
//
// Every table has exactly one writer (the outbox is appended to by every writer, in the
// same transaction as its own change, and only the relay marks rows published):
//
//	table                  writer
//	meta                   Store (key outbox_epoch), usage meter (key usage_cursor)
//	tenants, api_keys      frontend (API and dev bootstrap)
//	satellites             onboarding (mothership satellite add, dev bootstrap)
//	logical_clusters       frontend
//	cluster_history        frontend (in the same transaction as the change it records)
//	profiles               frontend (operators set them; the physical controller reads them)
//	usage                  usage meter
//	physical_clusters      physical controller
//	physical_generations   physical controller
//	placements             scheduler
//	cluster_status         status controller
//	outbox                 all of the above append; outbox relay marks published
//
// Times are Unix milliseconds. Generated code lives in sqlitegen and pggen; the two are
// identical apart from placeholders, so sqlitegen's types and Querier interface are the
// ones the rest of the mothership uses for both engines.
package db
