// Package simkafka is the Kafka-protocol harness behind every simulated broker pod, for dev
// mode (satellite/simkube) and for tests against a real API server (tests/kubetest), where
// no container runs. It owns the simulated data plane and nothing in Kubernetes but the
// LoadBalancer ingress it reports (see Kube); only tests and dev mode import it.
//
// A Fleet keeps one kfake cluster (github.com/twmb/franz-go/pkg/kfake) per Kafka physical
// cluster. Its brokers come and go with their pods (StartBroker, StopBroker, SyncBrokers):
// broker ordinal i is kfake node 1000+i, Orbit's own node id (kfake's AddNode takes the id).
// Each broker listens on a loopback address of its own (127.64.0.0/10, port 9092, through
// kfake's ListenFn) and advertises the first DNS name registered for it, as Kafka advertises
// advertised.listeners; a bootstrap load balancer (a TCP forwarder to any running broker)
// has an address of its own too. Register maps names to brokers or to the bootstrap; the
// Fleet resolves them (Resolve, DialContext, TLSDialer) for the satellite's admin client and
// for tests.
//
// Every listener serves SASL_SSL: TLS with the certificate of the cluster's keystore and
// SCRAM (kfake's SaslHandshake/SaslAuthenticate) inside it, with kfake's ACLs on (deny by
// default). The first broker formats the store as kafka-storage.sh format --add-scram would:
// it creates the kfake cluster with the satellite's SCRAM-SHA-512 super user, read from
// Secrets. A broker serves the certificate it loaded when it started until it is told to
// reload its keystore the way Kafka is, through dynamic broker configuration: an AlterConfigs
// or IncrementalAlterConfigs request on its own broker resource setting
// ssl.keystore.location (re-set to the same path), ssl.keystore.certificate.chain or
// ssl.keystore.key, plain or under listener.name.<listener>. Then it reads the keystore
// again; a Secret rewritten without that request changes nothing a client sees. Each broker
// records the serial it serves and when the last reload request arrived (Broker).
//
// Requests are observed and answered through one dispatcher per cluster over kfake's
// ControlKey (Intercept): interceptors of a key run in order, each may answer; otherwise
// kfake does. The keystore reload is one; replica placement (Metadata, CreateTopics,
// AlterPartitionAssignments, ListPartitionReassignments, DescribeLogDirs, DescribeCluster,
// UnregisterBroker, DescribeQuorum) is meant to be another, owning what kfake fabricates.
//
// Where kfake is not Kafka (kfake at the version in go.mod; each read in its source):
//
//   - kfake's controller is a broker: the node its NewCluster creates (always id 0) answers
//     CreateTopics, DeleteTopics, CreatePartitions and AlterUserSCRAMCredentials, and every
//     other broker refuses them with NOT_CONTROLLER; which node that is never changes. The
//     harness keeps that node for the cluster's life as kafka-controller-0 (Orbit's first
//     KRaft controller has node id 0), advertised under Config.ControllerHost (or, with
//     Config.AdvertiseAddresses, under its loopback address, so that a client outside the
//     process reaches it, as dev mode's orbit CLI does). So metadata
//     lists node 0 among the brokers, it may lead partitions, and the cluster still answers
//     when no broker pod is ready. In Kafka, controllers are not in metadata and any broker
//     forwards these requests to the quorum.
//   - All nodes share one store: a partition's data is not on its leader, a removed broker
//     loses nothing, and broker configs (AlterConfigs on any broker resource) are one map
//     for the whole cluster (a broker accepts only its own resource name, as Kafka does).
//   - Replicas and ISR are fabricated in metadata from the leader's position in the broker
//     list (as many as the topic's replication factor, capped by the broker count); adding
//     or removing a node moves every partition's leader at random.
//   - AlterPartitionAssignments is accepted and does nothing; ListPartitionReassignments
//     lists none; DescribeLogDirs reports the whole store under one directory
//     (/mem/kfake) on every broker.
//   - Every broker has the same rack ("krack"); broker.rack is ignored.
//   - There is no UnregisterBroker and no DescribeQuorum.
//   - Client quotas are stored and described, not enforced.
//   - Only SaslHandshake v1 is served (librdkafka's kcat cannot authenticate); SCRAM
//     credentials are salted with 4096 iterations, and credentials upserted with 8192 do
//     not authenticate.
//   - Keystore configs are accepted with any value and not validated; the harness reloads
//     on the request even if ACLs then make kfake refuse it (only the super user sends it).
package simkafka
