package satellite

import (
	"fmt"
	"maps"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
)

// renderWorkers renders ksqlDB or Kafka Connect: a worker set pointed at the bootstrap of the
// Kafka cluster it belongs to, a LoadBalancer endpoint, and the configuration (Connect: its
// group id and internal topics).
func (r *renderer) renderWorkers(o *PSCObject, out *rendered) error {
	if o.Spec.Kafka == nil {
		return fmt.Errorf("spec.kafka: a %s cluster needs its kafka cluster", o.Spec.Product)
	}
	ns := out.namespace
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	cfg := maps.Clone(o.Spec.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfg["bootstrap.servers"] = kafkaInternalBootstrap(o.Spec.Kafka.ID)
	cfg["security.protocol"] = "SSL"
	cfg["ssl.truststore.type"] = "PEM"
	cfg["ssl.truststore.location"] = "/etc/orbit/tls/ca.crt"

	var (
		ro   role
		file string
	)
	switch o.Spec.Product {
	case kv.ProductKsqlDB:
		port := int32(8088)
		cfg["listeners"] = fmt.Sprintf("http://0.0.0.0:%d", port)
		cfg["ksql.service.id"] = o.Name + "_"
		cfg["ksql.streams.state.dir"] = "/var/lib/orbit/data/ksqldb"
		file = "ksql-server.properties"
		image := "confluentinc/ksqldb-server:" + o.Spec.Version
		ro = role{name: "ksqldb", role: "server", image: image, ports: []int32{port}, storageGiB: o.Spec.Storage.SizeGiB,
			command: []string{"ksql-server-start", "/etc/orbit/config/" + file}}
	case kv.ProductConnect:
		port := int32(8083)
		cfg["listeners"] = fmt.Sprintf("http://0.0.0.0:%d", port)
		cfg["group.id"] = o.Name
		cfg["config.storage.topic"] = "_connect-" + o.Name + "-configs"
		cfg["offset.storage.topic"] = "_connect-" + o.Name + "-offsets"
		cfg["status.storage.topic"] = "_connect-" + o.Name + "-status"
		cfg["key.converter"] = "org.apache.kafka.connect.json.JsonConverter"
		cfg["value.converter"] = "org.apache.kafka.connect.json.JsonConverter"
		file = "connect-distributed.properties"
		image := "apache/kafka:" + o.Spec.Version
		ro = role{name: "connect", role: "worker", image: image, ports: []int32{port},
			command: []string{"/opt/kafka/bin/connect-distributed.sh", "/etc/orbit/config/" + file}}
	}
	props := properties(cfg)
	ro.replicas = o.Spec.Replicas
	ro.mountConfig = "/etc/orbit/config"
	ro.restartHash = hashString(ro.image, props)
	ro.tls = true
	name := string(o.Spec.Product)
	out.add("ConfigMap", name+"-config", cmObject(corev1ac.ConfigMap(name+"-config", ns).WithLabels(labels).
		WithData(map[string]string{file: props})))
	out.add("Secret", tlsSecretName(o.Spec.Product), r.tlsSecret(o, ns, labels, []string{name + "." + ns + ".svc", o.Name + "." + r.domain}))
	r.statefulSet(o, out, ro)
	selector := map[string]string{LabelCluster: o.Name, LabelComponent: ro.name}
	out.add("Service", name, loadBalancer(ns, name, labels, selector, ro.ports[0]))
	out.bootstrapService, out.port = name, ro.ports[0]
	return nil
}
