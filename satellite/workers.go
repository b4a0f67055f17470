package satellite

import (
	"fmt"
	"maps"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
)

// Ports of the workers' HTTPS endpoints.
const (
	ksqlDBPort  int32 = 8088
	connectPort int32 = 8083
)

// renderWorkers renders ksqlDB or Kafka Connect: a worker set pointed at the Kafka cluster
// it belongs to, a LoadBalancer endpoint published in DNS, and the configuration (Connect:
// its group id and internal topics).
//
// They are attached to their Kafka, so their certificate is issued by that Kafka
// cluster's CA, which is also the only CA they trust. They serve HTTPS (that certificate,
// from PEM files) and reach Kafka over TLS on its INTERNAL listener (security.protocol=SSL)
// with the same certificate as their client certificate: mutual TLS, under a principal of
// their own (User:CN=<id>,OU=<product>,O=orbit) that is not a super user. Its Kafka
// cluster's reconcile gives that principal the ACLs of its own state and the user-data
// scope of the logical Kafka cluster it works for, nothing else (workerACLEntries).
func (r *renderer) renderWorkers(o *PSCObject, out *rendered, users *restUsers) error {
	if o.Spec.Kafka == nil {
		return invalid("InvalidDesiredState", fmt.Errorf("spec.kafka: a %s cluster needs its kafka cluster", o.Spec.Product))
	}
	ns := out.namespace
	name := string(o.Spec.Product)
	headless := name + "-headless." + ns + ".svc"
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	cfg := maps.Clone(o.Spec.Config)
	if cfg == nil {
		cfg = map[string]string{}
	}
	tlsCfg := map[string]string{
		"security.protocol":                     "SSL",
		"ssl.keystore.type":                     "PEM",
		"ssl.keystore.location":                 tlsKeystore,
		"ssl.truststore.type":                   "PEM",
		"ssl.truststore.location":               tlsTruststore,
		"ssl.endpoint.identification.algorithm": "https",
	}
	maps.Copy(cfg, tlsCfg)
	cfg["bootstrap.servers"] = kafkaInternalBootstrap(o.Spec.Kafka.ID)

	var (
		ro        role
		file      string
		port      int32
		advertise string // appended per pod at start: the name peers reach it by
		jaas      string // the REST login module, reading the users file from restUsersSecret
		optsEnv   string // the environment variable the start script passes to the JVM
	)
	switch o.Spec.Product {
	case kv.ProductKsqlDB:
		port = ksqlDBPort
		cfg["listeners"] = fmt.Sprintf("https://0.0.0.0:%d", port)
		cfg["ksql.service.id"] = ksqlServiceID(o.Name)
		cfg["ksql.streams.state.dir"] = "/var/lib/orbit/data/ksqldb"
		// REST: HTTP basic authentication over HTTPS against the realm below.
		cfg["authentication.method"] = "BASIC"
		cfg["authentication.realm"] = ksqlRealm
		cfg["authentication.roles"] = restRole
		jaas = fmt.Sprintf("%s {\n  org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required\n  file=%q\n  debug=\"false\";\n};\n",
			ksqlRealm, restUsersDir+"/"+restUsersFile)
		optsEnv = "KSQL_OPTS"
		advertise = fmt.Sprintf("ksql.advertised.listener=https://${POD_NAME}.%s:%d", headless, port)
		file = "ksql-server.properties"
		image := "confluentinc/ksqldb-server:" + o.Spec.Version
		ro = role{name: "ksqldb", role: "server", image: image, ports: []int32{port}, storageGiB: o.Spec.Storage.SizeGiB,
			command: workerStart(file, advertise, "ksql-server-start")}
	case kv.ProductConnect:
		port = connectPort
		cfg["listeners"] = fmt.Sprintf("https://0.0.0.0:%d", port)
		cfg["rest.advertised.listener"] = "https"
		cfg["rest.advertised.port"] = fmt.Sprint(port)
		cfg["group.id"] = o.Name
		topics := connectTopics(o.Name)
		cfg["config.storage.topic"], cfg["offset.storage.topic"], cfg["status.storage.topic"] = topics[0], topics[1], topics[2]
		// REST: HTTP basic authentication over HTTPS (KIP-208's extension, which reads the
		// KafkaConnect JAAS entry).
		cfg["rest.extension.classes"] = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
		jaas = fmt.Sprintf("KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=%q;\n};\n",
			restUsersDir+"/"+restUsersFile)
		optsEnv = "KAFKA_OPTS"
		cfg["key.converter"] = "org.apache.kafka.connect.json.JsonConverter"
		cfg["value.converter"] = "org.apache.kafka.connect.json.JsonConverter"
		// The connectors' own clients take their settings under these prefixes.
		for _, prefix := range []string{"producer.", "consumer.", "admin."} {
			for k, v := range tlsCfg {
				cfg[prefix+k] = v
			}
		}
		advertise = "rest.advertised.host.name=${POD_NAME}." + headless
		file = "connect-distributed.properties"
		image := "apache/kafka:" + o.Spec.Version
		ro = role{name: "connect", role: "worker", image: image, ports: []int32{port},
			command: workerStart(file, advertise, kafkaBin+"/connect-distributed.sh")}
	}
	props := properties(cfg)
	ro.replicas = o.Spec.Replicas
	ro.mountConfig = kafkaConfigDir
	ro.restartHash = hashString(ro.image, props, jaas)
	if users == nil {
		users = renderRESTUsers(o.Spec.Product, nil, nil)
	}
	if users.restart != "" {
		// The login modules read the users file once: a user added or removed needs a
		// restart.
		ro.restartHash = hashString(ro.image, props, jaas, users.restart)
	}
	ro.tls = true
	ro.env = append(ro.env, corev1ac.EnvVar().WithName(optsEnv).WithValue("-Djava.security.auth.login.config="+kafkaConfigDir+"/"+restJAASFile))
	ro.volumes = append(ro.volumes, corev1ac.Volume().WithName("rest-users").
		WithSecret(corev1ac.SecretVolumeSource().WithSecretName(restUsersSecret)))
	ro.mounts = append(ro.mounts, corev1ac.VolumeMount().WithName("rest-users").WithMountPath(restUsersDir).WithReadOnly(true))
	out.add("ConfigMap", name+"-config", cmObject(corev1ac.ConfigMap(name+"-config", ns).WithLabels(labels).
		WithData(map[string]string{file: props, restJAASFile: jaas})))
	out.add("Secret", restUsersSecret, applyRESTUsers(ns, labels, users))
	out.tls = &tlsState{}
	names := []string{o.Name + "." + r.domain, name + "." + ns + ".svc", "*." + headless}
	out.add("Secret", tlsSecretName(o.Spec.Product), r.tlsSecret(o, ns, Namespace(o.Spec.Kafka.ID), labels,
		certSubject(o.Spec.Product, o.Name), names, out.tls))
	r.statefulSet(o, out, ro)
	selector := map[string]string{LabelCluster: o.Name, LabelComponent: ro.name}
	out.add("Service", name, loadBalancer(ns, name, o.Name+"."+r.domain, labels, selector, port))
	out.bootstrapService, out.bootstrapHost, out.port = name, o.Name+"."+r.domain, port
	return nil
}

// The workers' REST authentication: a JAAS file in the configuration, and a users file (the
// login modules' "user: password,role" lines) in a Secret mounted beside it. The Secret
// starts with no user a request can name (Connect's: one that none can, connectRefuseAll),
// so that the endpoints refuse every request until keys are issued for them; the satellite
// then keeps it holding exactly the cluster's live REST API keys (restusers.go).
const (
	ksqlRealm       = "KsqlServer-Props"
	restRole        = "user"
	restJAASFile    = "rest-jaas.conf"
	restUsersSecret = "rest-users"
	restUsersFile   = "users.properties"
	restUsersDir    = "/etc/orbit/rest-users"
)

// ksqlServiceID is a ksqlDB cluster's ksql.service.id: the prefix of its internal topics,
// groups and transactional ids (workerACLEntries).
func ksqlServiceID(cluster string) string { return cluster + "_" }

// connectTopics are a Connect cluster's config, offset and status topics.
func connectTopics(cluster string) [3]string {
	p := "_connect-" + cluster
	return [3]string{p + "-configs", p + "-offsets", p + "-status"}
}

// workerStart copies the configuration, adds the pod's advertised name, and starts.
func workerStart(file, advertise, start string) []string {
	script := fmt.Sprintf("set -eu\ncp %[1]s/%[2]s /tmp/%[2]s\necho \"%[3]s\" >> /tmp/%[2]s\nexec %[4]s /tmp/%[2]s\n",
		kafkaConfigDir, file, advertise, start)
	return []string{"sh", "-c", script}
}
