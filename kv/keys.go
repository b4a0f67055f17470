package kv

import (
	"fmt"
	"strings"
)

// Bucket and stream names.
const (
	BucketDesired    = "desired"
	BucketActual     = "actual"
	BucketSatellites = "satellites"
	// BucketCredentials holds API key credentials (Kafka SCRAM users, ksqlDB and Connect REST
	// users), each sealed to its satellite's curve key:
	// <satellite>.<product>.<physical-cluster-id>.<key-id>.
	BucketCredentials = "credentials"

	// StreamEvents carries the mothership's outbox, one subject per resource:
	// events.<resource>.<id>.
	StreamEvents = "EVENTS"

	// HubDomain is the JetStream domain of the mothership's NATS hub. Each satellite's leaf
	// node runs its own domain, named after the satellite.
	HubDomain = "hub"
)

// Product is a managed data-platform product.
type Product string

// The products Orbit runs.
const (
	ProductKafka   Product = "kafka"
	ProductKsqlDB  Product = "ksqldb"
	ProductConnect Product = "connect"
)

// Products lists every product, in display order.
var Products = []Product{ProductKafka, ProductKsqlDB, ProductConnect}

// Validate reports whether p is a known product.
func (p Product) Validate(field string) error {
	for _, known := range Products {
		if p == known {
			return nil
		}
	}
	return fieldError(field, fmt.Sprintf("unknown product %q (want one of kafka, ksqldb, connect)", string(p)))
}

// Key addresses one physical cluster in the desired and actual buckets:
// <satellite>.<product>.<cluster-id>.
type Key struct {
	Satellite string
	Product   Product
	Cluster   string
}

// String renders the key as stored in the buckets.
func (k Key) String() string {
	return k.Satellite + "." + string(k.Product) + "." + k.Cluster
}

// Validate checks every part of the key.
func (k Key) Validate() error {
	if err := ValidateName("satellite", k.Satellite); err != nil {
		return err
	}
	if err := k.Product.Validate("product"); err != nil {
		return err
	}
	return ValidateName("cluster", k.Cluster)
}

// ParseKey parses and validates a desired/actual key.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return Key{}, fieldError("key", fmt.Sprintf("%q must be <satellite>.<product>.<cluster-id>", s))
	}
	k := Key{Satellite: parts[0], Product: Product(parts[1]), Cluster: parts[2]}
	if err := k.Validate(); err != nil {
		return Key{}, prefixed("key", err)
	}
	return k, nil
}

// DesiredSubjectFilter is the subject filter of one satellite's keys in the hub's desired
// bucket: what its mirror asks for and all its NATS credentials allow it to read.
func DesiredSubjectFilter(satellite string) string {
	return MirrorSubjectFilter(BucketDesired, satellite)
}

// MirrorSubjectFilter is the subject filter of one satellite's keys in a hub bucket it
// mirrors (desired, credentials).
func MirrorSubjectFilter(bucket, satellite string) string {
	return "$KV." + bucket + "." + satellite + ".>"
}

// SubjectPrefix returns the subject prefix under which a bucket stores its keys.
func SubjectPrefix(bucket string) string { return "$KV." + bucket + "." }

// HubPutSubject is the subject a leaf node publishes to in order to put key into one of the
// hub's buckets. nats-server keeps $KV.> subjects from crossing between JetStream domains
// and maps $JS.<domain>.API.$KV.> on the hub to $KV.>, so that is the only way in.
func HubPutSubject(bucket, key string) string {
	return "$JS." + HubDomain + ".API." + SubjectPrefix(bucket) + key
}

// StreamName returns the JetStream stream that backs a bucket.
func StreamName(bucket string) string { return "KV_" + bucket }

// EventSubject is the EVENTS subject of one resource.
func EventSubject(resource, id string) string { return "events." + resource + "." + id }

// ParseEventSubject splits events.<resource>.<id>.
func ParseEventSubject(subject string) (resource, id string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != "events" || parts[1] == "" || parts[2] == "" {
		return "", "", fieldError("subject", fmt.Sprintf("%q must be events.<resource>.<id>", subject))
	}
	return parts[1], parts[2], nil
}
