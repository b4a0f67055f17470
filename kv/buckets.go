package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EventsMaxAge bounds how long the EVENTS stream keeps an event. Controllers resync from SQL
// on start, so the stream is a change feed, not the record.
const EventsMaxAge = 7 * 24 * time.Hour

// EventsDuplicateWindow is how long the EVENTS stream remembers Nats-Msg-Id values: the
// longest a relay may take to retry a publish and still have it deduplicated.
const EventsDuplicateWindow = 10 * time.Minute

// HubBuckets returns the configuration of the hub's buckets. Each keeps only the latest
// value of a key: history lives in SQL.
func HubBuckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		{Bucket: BucketDesired, Description: "desired state of every physical cluster; written by the mothership sync service", History: 1, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: BucketActual, Description: "actual state of every physical cluster; each key written by its satellite", History: 1, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: BucketSatellites, Description: "satellite registrations and heartbeats; each key written by its satellite", History: 1, Storage: jetstream.FileStorage, Replicas: replicas},
		{Bucket: BucketCredentials, Description: "Kafka credentials sealed to each satellite's curve key; written by the mothership sync service", History: 1, Storage: jetstream.FileStorage, Replicas: replicas},
	}
}

// EventsStream returns the configuration of the EVENTS stream.
func EventsStream(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamEvents,
		Description: "mothership change events (outbox); written by the outbox relay",
		Subjects:    []string{"events.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      EventsMaxAge,
		Duplicates:  EventsDuplicateWindow,
		Replicas:    replicas,
	}
}

// EnsureHub creates or updates the hub's buckets and the EVENTS stream.
func EnsureHub(ctx context.Context, js jetstream.JetStream, replicas int) error {
	for _, cfg := range HubBuckets(replicas) {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
		}
	}
	if _, err := js.CreateOrUpdateStream(ctx, EventsStream(replicas)); err != nil {
		return fmt.Errorf("stream %s: %w", StreamEvents, err)
	}
	return nil
}

// MirroredBuckets are the hub buckets each satellite mirrors, filtered to its own keys.
var MirroredBuckets = []string{BucketDesired, BucketCredentials}

// MirrorConsumerName is the durable consumer on the hub's KV_<bucket> that feeds one
// satellite's mirror of bucket (desired-<satellite>, credentials-<satellite>).
func MirrorConsumerName(bucket, satellite string) string { return bucket + "-" + satellite }

// MirrorConsumerResetSubject is the hub's JetStream API subject that resets (rewinds) one
// satellite's consumer of bucket: the only consumer operation a satellite may perform.
func MirrorConsumerResetSubject(bucket, satellite string) string {
	return "$JS." + HubDomain + ".API.CONSUMER.RESET." + StreamName(bucket) + "." + MirrorConsumerName(bucket, satellite)
}

// MirrorDeliverSubject is where the hub delivers one satellite's keys of bucket.
func MirrorDeliverSubject(bucket, satellite string) string {
	return "orbit." + bucket + "." + satellite
}

// DesiredConsumerName is the durable consumer on the hub's KV_desired that feeds one
// satellite's mirror.
func DesiredConsumerName(satellite string) string {
	return MirrorConsumerName(BucketDesired, satellite)
}

// DesiredConsumerResetSubject is the hub's JetStream API subject that resets (rewinds) one
// satellite's desired consumer.
func DesiredConsumerResetSubject(satellite string) string {
	return MirrorConsumerResetSubject(BucketDesired, satellite)
}

// DesiredDeliverSubject is where the hub delivers one satellite's desired keys.
func DesiredDeliverSubject(satellite string) string {
	return MirrorDeliverSubject(BucketDesired, satellite)
}

// DesiredConsumerMaxAckPending bounds how far the hub runs ahead of a satellite's mirror.
const DesiredConsumerMaxAckPending = 10_000

// DesiredConsumer returns the durable push consumer that the mothership creates on the
// hub's KV_desired for one satellite: filtered to that satellite's keys, delivering to that
// satellite's subject, acknowledged by flow control (nats-server durable sourcing). The
// satellite's mirror binds to it by name and may only reset it, so the filter is the
// mothership's decision, never the satellite's.
func DesiredConsumer(satellite string) jetstream.ConsumerConfig {
	return MirrorConsumer(BucketDesired, satellite)
}

// MirrorConsumer returns the durable push consumer on the hub's KV_<bucket> that feeds one
// satellite's mirror of bucket (see DesiredConsumer).
func MirrorConsumer(bucket, satellite string) jetstream.ConsumerConfig {
	name := MirrorConsumerName(bucket, satellite)
	return jetstream.ConsumerConfig{
		Name:           name,
		Durable:        name,
		Description:    bucket + " keys of satellite " + satellite,
		DeliverSubject: MirrorDeliverSubject(bucket, satellite),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubject:  MirrorSubjectFilter(bucket, satellite),
		AckPolicy:      jetstream.AckFlowControlPolicy,
		FlowControl:    true,
		IdleHeartbeat:  time.Second,
		MaxAckPending:  DesiredConsumerMaxAckPending,
	}
}

// DesiredMirror returns the stream configuration of a satellite's local desired bucket: a
// mirror of the hub's KV_desired in domain hub, fed by that satellite's durable consumer
// (DesiredConsumer). It keeps the KV stream shape, so the satellite reads it with the
// ordinary KeyValue API, and it keeps serving reads while the hub is unreachable.
func DesiredMirror(satellite string) jetstream.StreamConfig { return Mirror(BucketDesired, satellite) }

// Mirror returns the stream configuration of a satellite's local copy of bucket (see
// DesiredMirror).
func Mirror(bucket, satellite string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              StreamName(bucket),
		Description:       "this satellite's " + bucket + " keys, mirrored from the hub",
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardNew,
		Storage:           jetstream.FileStorage,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		Replicas:          1,
		Mirror: &jetstream.StreamSource{
			Name:   StreamName(bucket),
			Domain: HubDomain,
			Consumer: &jetstream.StreamConsumerSource{
				Name:           MirrorConsumerName(bucket, satellite),
				DeliverSubject: MirrorDeliverSubject(bucket, satellite),
			},
		},
	}
}
