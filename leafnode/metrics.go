package leafnode

import (
	"net/http"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the hub's Prometheus metrics: Go and process metrics, and the
// embedded server's connections, traffic and JetStream state, read from its monitoring
// (Varz, Jsz) at each scrape. Labels: stream names only (the buckets' streams, which only
// the mothership creates), so the series stay bounded.
func (h *Hub) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &hubCollector{srv: h.srv})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

func hubDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("orbit_hub_"+name, help, labels, nil)
}

var (
	hubLeafnodes       = hubDesc("leafnode_connections", "Leaf-node connections (satellites) to this hub server.")
	hubClients         = hubDesc("client_connections", "Client connections to this hub server (motherships, readers, in-process included).")
	hubRoutes          = hubDesc("route_connections", "Route connections to the other nodes of the hub cluster.")
	hubSlowConsumers   = hubDesc("slow_consumers_total", "Connections this server dropped messages to because they did not keep up.")
	hubInMsgs          = hubDesc("received_messages_total", "Messages this server received.")
	hubOutMsgs         = hubDesc("sent_messages_total", "Messages this server sent.")
	hubInBytes         = hubDesc("received_bytes_total", "Payload bytes this server received.")
	hubOutBytes        = hubDesc("sent_bytes_total", "Payload bytes this server sent.")
	hubJSStreams       = hubDesc("jetstream_streams", "JetStream streams on this server (the buckets' streams and their replicas).")
	hubJSConsumers     = hubDesc("jetstream_consumers", "JetStream consumers on this server (satellites' mirrors, watches).")
	hubJSMessages      = hubDesc("jetstream_messages", "Messages stored in JetStream on this server.")
	hubJSStoreBytes    = hubDesc("jetstream_storage_bytes", "Bytes JetStream stores on disk on this server.")
	hubJSMemoryBytes   = hubDesc("jetstream_memory_bytes", "Bytes JetStream holds in memory on this server.")
	hubJSAPIRequests   = hubDesc("jetstream_api_requests_total", "JetStream API requests this server received.")
	hubJSAPIErrors     = hubDesc("jetstream_api_errors_total", "JetStream API requests this server answered with an error.")
	hubJSMetaLeader    = hubDesc("jetstream_meta_leader", "1 if this server leads the hub cluster's JetStream meta group (always 1 on a single server).")
	hubJSStreamMsgs    = hubDesc("jetstream_stream_messages", "Messages in a stream.", "stream")
	hubJSStreamBytes   = hubDesc("jetstream_stream_bytes", "Bytes in a stream.", "stream")
	hubJSStreamConsmrs = hubDesc("jetstream_stream_consumers", "Consumers of a stream.", "stream")
)

// hubCollector reads the embedded server's monitoring at each scrape.
type hubCollector struct{ srv *server.Server }

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hubLeafnodes, hubClients, hubRoutes, hubSlowConsumers, hubInMsgs, hubOutMsgs, hubInBytes, hubOutBytes,
		hubJSStreams, hubJSConsumers, hubJSMessages, hubJSStoreBytes, hubJSMemoryBytes, hubJSAPIRequests, hubJSAPIErrors, hubJSMetaLeader,
		hubJSStreamMsgs, hubJSStreamBytes, hubJSStreamConsmrs} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if v, err := c.srv.Varz(nil); err != nil {
		ch <- prometheus.NewInvalidMetric(hubLeafnodes, err)
	} else {
		gauge(hubLeafnodes, float64(v.Leafs))
		gauge(hubClients, float64(v.Connections))
		gauge(hubRoutes, float64(v.Routes))
		counter(hubSlowConsumers, float64(v.SlowConsumers))
		counter(hubInMsgs, float64(v.InMsgs))
		counter(hubOutMsgs, float64(v.OutMsgs))
		counter(hubInBytes, float64(v.InBytes))
		counter(hubOutBytes, float64(v.OutBytes))
	}
	js, err := c.srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(hubJSStreams, err)
		return
	}
	gauge(hubJSStreams, float64(js.Streams))
	gauge(hubJSConsumers, float64(js.Consumers))
	gauge(hubJSMessages, float64(js.Messages))
	gauge(hubJSStoreBytes, float64(js.Store))
	gauge(hubJSMemoryBytes, float64(js.Memory))
	counter(hubJSAPIRequests, float64(js.API.Total))
	counter(hubJSAPIErrors, float64(js.API.Errors))
	leader := 1.0 // a single server has no meta group and leads itself
	if js.Meta != nil && js.Meta.Leader != c.srv.Name() {
		leader = 0
	}
	gauge(hubJSMetaLeader, leader)
	seen := map[string]bool{}
	for _, a := range js.AccountDetails {
		for _, s := range a.Streams {
			if seen[s.Name] { // one account holds the buckets; never report a series twice
				continue
			}
			seen[s.Name] = true
			gauge(hubJSStreamMsgs, float64(s.State.Msgs), s.Name)
			gauge(hubJSStreamBytes, float64(s.State.Bytes), s.Name)
			gauge(hubJSStreamConsmrs, float64(s.State.Consumers), s.Name)
		}
	}
}
