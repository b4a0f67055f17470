package satellite

import (
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// kafkaMetrics records every Kafka request's result and round trip for one cluster.
type kafkaMetrics struct{ satellite, cluster string }

var _ kgo.HookBrokerE2E = kafkaMetrics{}

func (k kafkaMetrics) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e kgo.BrokerE2E) {
	request := kmsg.NameForKey(key)
	if request == "" {
		request = "unknown"
	}
	result := "success"
	if e.Err() != nil {
		result = "error"
	}
	metrics.KafkaAdminRequests.WithLabelValues(k.satellite, k.cluster, request, result).Inc()
	metrics.KafkaAdminDuration.WithLabelValues(k.satellite, request).Observe(e.DurationE2E().Seconds())
}
