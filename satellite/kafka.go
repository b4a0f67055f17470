package satellite

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
)

// Kafka ports: clients (SASL_SSL, through the load balancers), brokers among themselves
// (and the ksqlDB and Connect clusters attached), and the KRaft controller quorum.
const (
	kafkaClientPort     int32 = 9092
	kafkaInternalPort   int32 = 9094
	kafkaControllerPort int32 = 9093
	// brokerIDOffset keeps broker node ids clear of the controllers'.
	brokerIDOffset = 1000
	// defaultControllers is the quorum size when the PSC does not say.
	defaultControllers = 3
)

// Where things are in a Kafka pod.
const (
	kafkaConfigDir = "/etc/orbit/config"
	kafkaDataDir   = "/var/lib/orbit/data/kafka"
	kafkaBin       = "/opt/kafka/bin"
	// serverProperties is the configuration a node starts with, assembled at start.
	serverProperties = "/tmp/server.properties"
)

// Kafka's listeners. CLIENT is for users (and the satellite): SASL_SSL with SCRAM-SHA-512,
// through the load balancers. INTERNAL (between brokers, and for the ksqlDB and Connect
// clusters attached to this Kafka) and CONTROLLER are SSL with mutual TLS: every node
// authenticates with its certificate, issued by the cluster's CA, and the nodes' principal
// is a super user. Mutual TLS needs no password to bootstrap and keeps SCRAM for people;
// the ksqlDB and Connect clusters authenticate there with their own certificates, under
// principals of their own that get ACLs (a later change) rather than super user rights.
const (
	listenerClient     = "CLIENT"
	listenerInternal   = "INTERNAL"
	listenerController = "CONTROLLER"
	standardAuthorizer = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	// reauthMS makes SASL clients re-authenticate every 5 minutes, so that a deleted or
	// changed credential stops working on open connections too.
	reauthMS = "300000"
)

// kafkaVersionOf is the MAJOR.MINOR of a Kafka version the satellite runs (those whose
// configuration kv/kafkaconf knows), or an error naming the supported ones.
func kafkaVersionOf(v string) (string, error) { return kafkaconf.VersionOf(v) }

// validateKafkaConfig statically checks a node's configuration before anything is applied,
// against Kafka's own definitions of that version: a configuration Kafka would refuse is a
// terminal error, not a crash loop. role is "broker" or "controller".
func validateKafkaConfig(version, role string, props map[string]string) error {
	return kafkaconf.Validate(version, kafkaconf.Role(role), props)
}

// checkUserConfig refuses the keys the satellite owns (listeners, security, identity,
// quorum, storage: kafkaconf.Reserved) in a PSC's configuration, or a profile could turn
// off the authorizer or move the listeners.
func checkUserConfig(cfg map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		if reason, reserved := kafkaconf.Reserved(k); reserved {
			return fmt.Errorf("config: %q is set by the satellite, not the desired state (%s)", k, reason)
		}
	}
	return nil
}

// renderKafka renders a KRaft cluster: a controller quorum and a broker set (StatefulSets
// with PDBs and headless services), one LoadBalancer service per broker plus a bootstrap
// one, each with its DNS name, the configuration, the CA, the TLS material and the
// satellite's super user.
func (r *renderer) renderKafka(o *PSCObject, out *rendered) error {
	version, err := kafkaVersionOf(o.Spec.Version)
	if err != nil {
		return invalid("UnsupportedVersion", err)
	}
	if err := kv.ValidateKafkaClusterID(o.Spec.KafkaClusterID); err != nil {
		return invalid("InvalidClusterID", fmt.Errorf("spec.kafkaClusterId: %w", err))
	}
	if err := checkUserConfig(o.Spec.Config); err != nil {
		return invalid("InvalidConfiguration", err)
	}
	ns := out.namespace
	labels := ownerLabels(r.satellite, o.Spec.Product, o.Name)
	controllers := o.Spec.Controllers
	if controllers == 0 {
		controllers = defaultControllers
	}
	brokers, scaleMsg, heldReason := r.holdScaleDown(o, ns, "kafka-broker", o.Spec.Replicas)
	var held, draining string
	if heldReason != "" {
		held = scaleMsg
	} else if brokers != o.Spec.Replicas {
		draining = scaleMsg
	}
	image := "apache/kafka:" + o.Spec.Version
	subject := certSubject(kv.ProductKafka, o.Name)
	// The nodes' principal, as Kafka's default SSL principal builder names it (the
	// subject's RFC 2253 form), and the satellite's SCRAM user.
	superUsers := "User:" + subject.String() + ";User:" + superUserName

	// The quorum is static (controller.quorum.voters), not dynamic (KIP-853's
	// controller.quorum.bootstrap.servers): every supported version runs it, the storage is
	// formatted the same way on every node, and the quorum size is fixed per PSC; changing
	// it rolls the controllers. A dynamic quorum needs 3.9 and add/remove-voter calls.
	var voters []string
	for i := range controllers {
		voters = append(voters, fmt.Sprintf("%d@%s:%d", i, podHost("kafka-controller", i, ns), kafkaControllerPort))
	}
	common := map[string]string{
		"controller.quorum.voters":       strings.Join(voters, ","),
		"controller.listener.names":      listenerController,
		"log.dirs":                       kafkaDataDir,
		"listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
		// One PEM keystore (KIP-651: an unencrypted key, so no ssl.key.password) and the
		// cluster's CA as the truststore, for every listener.
		"ssl.keystore.type":                        "PEM",
		"ssl.keystore.location":                    tlsKeystore,
		"ssl.truststore.type":                      "PEM",
		"ssl.truststore.location":                  tlsTruststore,
		"ssl.endpoint.identification.algorithm":    "https",
		"listener.name.controller.ssl.client.auth": "required",
		"authorizer.class.name":                    standardAuthorizer,
		"allow.everyone.if.no.acl.found":           "false",
		"super.users":                              superUsers,
	}
	controller := maps.Clone(common)
	controller["process.roles"] = "controller"
	controller["listeners"] = fmt.Sprintf("CONTROLLER://:%d", kafkaControllerPort)

	broker := maps.Clone(common)
	maps.Copy(broker, o.Spec.Config) // user and profile configuration applies to brokers
	maps.Copy(broker, map[string]string{
		"process.roles":                                "broker",
		"listeners":                                    fmt.Sprintf("CLIENT://:%d,INTERNAL://:%d", kafkaClientPort, kafkaInternalPort),
		"inter.broker.listener.name":                   listenerInternal,
		"listener.name.internal.ssl.client.auth":       "required",
		"listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
		// The credentials live in the cluster's metadata; the login module only says so.
		"listener.name.client.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"connections.max.reauth.ms":                           reauthMS,
	})

	data := map[string]string{
		"controller.properties": properties(controller),
		"broker.properties":     properties(broker),
	}
	for i := range controllers {
		data[fmt.Sprintf("controller-%d.properties", i)] = properties(controllerNode(i))
	}
	// Per-broker files: adding a broker adds a file and restarts nobody.
	for i := range brokers {
		data[fmt.Sprintf("broker-%d.properties", i)] = properties(r.brokerNode(o.Name, ns, i))
	}
	// Static validation of what each role starts with (a node's own file included).
	if err := validateKafkaConfig(version, "controller", merged(controller, controllerNode(0))); err != nil {
		return invalid("InvalidConfiguration", fmt.Errorf("controller configuration: %w", err))
	}
	if err := validateKafkaConfig(version, "broker", merged(broker, r.brokerNode(o.Name, ns, 0))); err != nil {
		return invalid("InvalidConfiguration", fmt.Errorf("broker configuration: %w", err))
	}
	// Per-tenant quotas of a multi-tenant cluster are client quotas set through the Admin API
	// (credentials.go, applyQuotas): Kafka reads no quota file.
	out.add("ConfigMap", "kafka-config", cmObject(corev1ac.ConfigMap("kafka-config", ns).WithLabels(labels).WithData(data)))
	out.tls = &tlsState{}
	out.add("Secret", caSecretName, ensureCA(ns, o.Name, labels, out.tls))
	out.add("Secret", tlsSecretName(kv.ProductKafka), r.tlsSecret(o, ns, ns, labels, subject, r.tlsNames(o, ns), out.tls))
	out.add("Secret", superUserSecret, ensureSuperUser(ns, labels))
	r.renderRackAccess(o, out, labels)

	// The password reaches the start script through the environment, from the Secret: it
	// is in no pod spec. It does reach kafka-storage.sh's command line inside the pod,
	// which is the only way Kafka takes it.
	password := corev1ac.EnvVar().WithName(superUserPasswordEnv).WithValueFrom(corev1ac.EnvVarSource().
		WithSecretKeyRef(corev1ac.SecretKeySelector().WithName(superUserSecret).WithKey("password")))
	rackInit, rackVolumes := r.rackInitContainer()
	r.statefulSet(o, out, role{
		name: "kafka-controller", role: "controller", replicas: controllers, image: image,
		command: kafkaStart("controller", o.Spec.KafkaClusterID, false),
		ports:   []int32{kafkaControllerPort}, storageGiB: 10, mountConfig: kafkaConfigDir, tls: true,
		env:         []*corev1ac.EnvVarApplyConfiguration{password},
		restartHash: hashString(image, data["controller.properties"]),
	})
	r.statefulSet(o, out, role{
		name: "kafka-broker", role: "broker", replicas: brokers, image: image,
		command: kafkaStart("broker", o.Spec.KafkaClusterID, true),
		ports:   []int32{kafkaClientPort, kafkaInternalPort}, storageGiB: o.Spec.Storage.SizeGiB, mountConfig: kafkaConfigDir, tls: true,
		env:            []*corev1ac.EnvVarApplyConfiguration{password},
		initContainers: []*corev1ac.ContainerApplyConfiguration{rackInit}, volumes: rackVolumes,
		mounts:         []*corev1ac.VolumeMountApplyConfiguration{corev1ac.VolumeMount().WithName("rack").WithMountPath(rackDir).WithReadOnly(true)},
		serviceAccount: rackSA,
		restartHash:    hashString(image, data["broker.properties"]), held: held, heldReason: heldReason, draining: draining,
	})

	// The data-plane network of the seed: one load balancer per broker, one for bootstrap,
	// each published in DNS by external-dns under the name the broker advertises.
	brokerSelector := map[string]string{LabelCluster: o.Name, LabelComponent: "kafka-broker"}
	out.add("Service", "kafka-bootstrap", loadBalancer(ns, "kafka-bootstrap", r.bootstrapHost(o.Name), labels, brokerSelector, kafkaClientPort))
	for i := range brokers {
		name := fmt.Sprintf("kafka-broker-%d", i)
		sel := map[string]string{LabelCluster: o.Name, "statefulset.kubernetes.io/pod-name": name}
		out.add("Service", name, loadBalancer(ns, name, r.brokerHost(o.Name, i), labels, sel, kafkaClientPort))
		out.brokers = append(out.brokers, brokerEndpoint{id: brokerIDOffset + i, host: r.brokerHost(o.Name, i)})
	}
	out.bootstrapService, out.bootstrapHost, out.port = "kafka-bootstrap", r.bootstrapHost(o.Name), kafkaClientPort
	return nil
}

// kafkaStart is a node's start command: assemble its configuration (the role's, the
// node's, and for a broker its rack), format its storage if it is not yet (idempotent:
// --ignore-formatted), with the cluster's fixed id and the satellite's SCRAM super user
// (in KRaft the first SCRAM credential can only be bootstrapped at format time; the
// record is kept in every node's bootstrap metadata, the controllers' is the one used),
// then start.
func kafkaStart(role, clusterID string, rack bool) []string {
	var b strings.Builder
	b.WriteString("set -eu\n")
	fmt.Fprintf(&b, "cat %[1]s/%[2]s.properties %[1]s/%[2]s-${POD_NAME##*-}.properties > %[3]s\n", kafkaConfigDir, role, serverProperties)
	if rack {
		fmt.Fprintf(&b, "if [ -s %[1]s ]; then cat %[1]s >> %[2]s; fi\n", rackFile, serverProperties)
	}
	fmt.Fprintf(&b, "%s/kafka-storage.sh format --ignore-formatted -t '%s' -c %s \\\n", kafkaBin, clusterID, serverProperties)
	fmt.Fprintf(&b, "  --add-scram \"SCRAM-SHA-512=[name=%s,password=${%s},iterations=%d]\"\n", superUserName, superUserPasswordEnv, scramIterations)
	fmt.Fprintf(&b, "exec %s/kafka-server-start.sh %s\n", kafkaBin, serverProperties)
	return []string{"sh", "-c", b.String()}
}

func controllerNode(i int32) map[string]string {
	return map[string]string{"node.id": fmt.Sprint(i)}
}

// brokerNode is one broker's own configuration: its id, and the names it advertises (on
// CLIENT exactly its load balancer's DNS name).
func (r *renderer) brokerNode(cluster, ns string, i int32) map[string]string {
	return map[string]string{
		"node.id": fmt.Sprint(brokerIDOffset + i),
		"advertised.listeners": fmt.Sprintf("CLIENT://%s:%d,INTERNAL://%s:%d",
			r.brokerHost(cluster, i), kafkaClientPort, podHost("kafka-broker", i, ns), kafkaInternalPort),
	}
}

// podHost is a pod's name in its StatefulSet's headless service.
func podHost(set string, i int32, ns string) string {
	return fmt.Sprintf("%s-%d.%s-headless.%s.svc", set, i, set, ns)
}

// brokerHost is a broker's public DNS name, published for its load balancer.
func (r *renderer) brokerHost(cluster string, i int32) string {
	return fmt.Sprintf("b%d.%s.%s", i, cluster, r.domain)
}

// bootstrapHost is a Kafka cluster's public bootstrap name.
func (r *renderer) bootstrapHost(cluster string) string {
	return "bootstrap." + cluster + "." + r.domain
}

// tlsNames are the names a Kafka cluster's certificate covers: every public name (one
// wildcard covers the brokers' and the bootstrap name), and the in-cluster names nodes and
// attached clusters connect to.
func (r *renderer) tlsNames(o *PSCObject, ns string) []string {
	return []string{
		"*." + o.Name + "." + r.domain,
		"*.kafka-broker-headless." + ns + ".svc",
		"kafka-broker-headless." + ns + ".svc",
		"*.kafka-controller-headless." + ns + ".svc",
		"kafka-bootstrap." + ns + ".svc",
	}
}

// kafkaInternalBootstrap is how ksqlDB and Connect reach a Kafka cluster on the same
// satellite: its INTERNAL listener.
func kafkaInternalBootstrap(kafkaID string) string {
	return fmt.Sprintf("kafka-broker-headless.%s.svc:%d", Namespace(kafkaID), kafkaInternalPort)
}

func merged(a, b map[string]string) map[string]string {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}
