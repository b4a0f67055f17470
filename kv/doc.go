// Package kv is the contract between the mothership and the satellites: the JetStream
// key-value buckets and the EVENTS stream, their key and subject schemes, and the versioned
// value types that travel through them. It imports nothing of Orbit's own, so both sides
// (and tests) can depend on it without depending on each other.
//
// Ownership — every bucket and key prefix has exactly one writer:
//
//	bucket / stream   key or subject                        writer                    readers
//	KV desired        <satellite>.<product>.<cluster-id>    mothership sync service   that satellite (filtered mirror)
//	KV actual         <satellite>.<product>.<cluster-id>    that satellite            mothership status controller
//	KV satellites     <satellite>                           that satellite            mothership scheduler, API
//	KV credentials    <satellite>.<product>.<cluster-id>.<key>  mothership sync service   that satellite (filtered mirror)
//	stream EVENTS     events.<resource>.<id>                mothership outbox relay   mothership controllers
//
// A credentials value (SealedCredential) is an API key's credential (a Kafka key's SCRAM
// credential, a ksqlDB or Connect key's REST users-file password field) sealed (NaCl box,
// nkeys curve keys) from the control plane's curve key to the target satellite's: only
// that satellite's curve seed opens it; the hub, other satellites and readers of the bucket
// see ciphertext.
//
// Values are JSON with a schemaVersion field. Decoding is strict: an unknown field, a
// schema version other than the one this package speaks, trailing data or an invalid value
// is an error wrapping ErrInvalid, never a zero value. Encoding validates too, so a writer
// cannot publish what a reader would reject.
package kv
