package satellite

import (
	"fmt"
	"maps"
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
)

// Kafka ports: clients (TLS, through the load balancers), brokers among themselves, and the
// KRaft controller quorum.
const (
	kafkaClientPort     int32 = 9092
	kafkaInternalPort   int32 = 9094
	kafkaControllerPort int32 = 9093
	// brokerIDOffset keeps broker node ids clear of the controllers'.
	brokerIDOffset = 1000
	// defaultControllers is the quorum size when the PSC does not say.
	defaultControllers = 3
)

// renderKafka renders a KRaft cluster: a controller quorum and a broker set (StatefulSets
// with PDBs and headless services), one LoadBalancer service per broker plus a bootstrap
// one, the configuration, and the TLS material.
func (r *renderer) renderKafka(o *PSCObject, out *rendered) error {
	ns := out.namespace
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	controllers := o.Spec.Controllers
	if controllers == 0 {
		controllers = defaultControllers
	}
	brokers, held := r.holdScaleDown(o, ns, "kafka-broker", o.Spec.Replicas)
	image := "apache/kafka:" + o.Spec.Version

	var voters []string
	for i := range controllers {
		voters = append(voters, fmt.Sprintf("%d@kafka-controller-%d.kafka-controller-headless.%s.svc:%d", i, i, ns, kafkaControllerPort))
	}
	common := map[string]string{
		"cluster.id":                            o.Name,
		"controller.quorum.voters":              strings.Join(voters, ","),
		"controller.listener.names":             "CONTROLLER",
		"log.dirs":                              "/var/lib/orbit/data/kafka",
		"ssl.keystore.type":                     "PEM",
		"ssl.keystore.location":                 "/etc/orbit/tls/keystore.pem",
		"ssl.truststore.type":                   "PEM",
		"ssl.truststore.location":               "/etc/orbit/tls/ca.crt",
		"listener.security.protocol.map":        "CLIENT:SSL,INTERNAL:SSL,CONTROLLER:SSL",
		"inter.broker.listener.name":            "INTERNAL",
		"ssl.endpoint.identification.algorithm": "https",
	}
	controller := maps.Clone(common)
	controller["process.roles"] = "controller"
	controller["listeners"] = fmt.Sprintf("CONTROLLER://:%d", kafkaControllerPort)

	broker := maps.Clone(common)
	maps.Copy(broker, o.Spec.Config) // user and profile configuration applies to brokers
	broker["process.roles"] = "broker"
	broker["listeners"] = fmt.Sprintf("CLIENT://:%d,INTERNAL://:%d", kafkaClientPort, kafkaInternalPort)

	data := map[string]string{
		"controller.properties": properties(controller),
		"broker.properties":     properties(broker),
	}
	for i := range controllers {
		data[fmt.Sprintf("controller-%d.properties", i)] = fmt.Sprintf("node.id=%d\n", i)
	}
	// Per-broker files: adding a broker adds a file and restarts nobody.
	for i := range brokers {
		data[fmt.Sprintf("broker-%d.properties", i)] = fmt.Sprintf("node.id=%d\nadvertised.listeners=CLIENT://%s:%d,INTERNAL://kafka-broker-%d.kafka-broker-headless.%s.svc:%d\n",
			brokerIDOffset+i, r.brokerHost(o.Name, i), kafkaClientPort, i, ns, kafkaInternalPort)
	}
	// Per-tenant quotas of a multi-tenant cluster: dynamic client quotas, applied without a
	// restart, so they are not part of any restart hash.
	if q := renderQuotas(o.Spec.Tenants); q != "" {
		data["quotas.properties"] = q
	}
	out.add("ConfigMap", "kafka-config", cmObject(corev1ac.ConfigMap("kafka-config", ns).WithLabels(labels).WithData(data)))
	out.add("Secret", tlsSecretName(kv.ProductKafka), r.tlsSecret(o, ns, labels, r.tlsNames(o, ns)))

	start := func(role string) []string {
		return []string{"sh", "-c", fmt.Sprintf("cat /etc/orbit/config/%[1]s.properties /etc/orbit/config/%[1]s-${POD_NAME##*-}.properties > /tmp/server.properties && exec /opt/kafka/bin/kafka-server-start.sh /tmp/server.properties", role)}
	}
	r.statefulSet(o, out, role{
		name: "kafka-controller", role: "controller", replicas: controllers, image: image, command: start("controller"),
		ports: []int32{kafkaControllerPort}, storageGiB: 10, mountConfig: "/etc/orbit/config", tls: true,
		restartHash: hashString(image, data["controller.properties"]),
	})
	r.statefulSet(o, out, role{
		name: "kafka-broker", role: "broker", replicas: brokers, image: image, command: start("broker"),
		ports: []int32{kafkaClientPort, kafkaInternalPort}, storageGiB: o.Spec.Storage.SizeGiB, mountConfig: "/etc/orbit/config", tls: true,
		restartHash: hashString(image, data["broker.properties"]), held: held,
	})

	// The data-plane network of the seed: one load balancer per broker, one for bootstrap.
	brokerSelector := map[string]string{LabelCluster: o.Name, LabelComponent: "kafka-broker"}
	out.add("Service", "kafka-bootstrap", loadBalancer(ns, "kafka-bootstrap", labels, brokerSelector, kafkaClientPort))
	for i := range brokers {
		name := fmt.Sprintf("kafka-broker-%d", i)
		sel := map[string]string{LabelCluster: o.Name, "statefulset.kubernetes.io/pod-name": name}
		out.add("Service", name, loadBalancer(ns, name, labels, sel, kafkaClientPort))
	}
	out.bootstrapService, out.port = "kafka-bootstrap", kafkaClientPort
	return nil
}

// brokerHost is a broker's public DNS name (served by the data plane's DNS, pointing at its
// load balancer).
func (r *renderer) brokerHost(cluster string, i int32) string {
	return fmt.Sprintf("b%d.%s.%s", i, cluster, r.domain)
}

func (r *renderer) tlsNames(o *PSCObject, ns string) []string {
	return []string{
		o.Name + "." + r.domain,
		"*." + o.Name + "." + r.domain,
		"*.kafka-broker-headless." + ns + ".svc",
		"*.kafka-controller-headless." + ns + ".svc",
		"kafka-bootstrap." + ns + ".svc",
	}
}

// kafkaInternalBootstrap is how ksqlDB and Connect reach a Kafka cluster on the same
// satellite.
func kafkaInternalBootstrap(kafkaID string) string {
	return fmt.Sprintf("kafka-broker-headless.%s.svc:%d", Namespace(kafkaID), kafkaInternalPort)
}

// renderQuotas renders each tenant's quotas, keyed by its principal, sorted.
func renderQuotas(tenants []kv.TenantQuota) string {
	cfg := map[string]string{}
	for _, t := range tenants {
		set := func(name string, v int64) {
			if v > 0 {
				cfg["user."+t.ID+"."+name] = fmt.Sprint(v)
			}
		}
		set("producer_byte_rate", t.ProducerByteRate)
		set("consumer_byte_rate", t.ConsumerByteRate)
		set("max_partitions", int64(t.MaxPartitions))
		set("max_connections", int64(t.MaxConnections))
	}
	return properties(cfg)
}
