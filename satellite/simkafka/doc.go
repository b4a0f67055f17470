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
// kfake does. The keystore reload is one; replica placement is another (placement.go,
// requests.go, wire.go).
//
// Replica placement is the harness's, not kfake's: a model of which broker holds which
// replica, so that a Kafka client sees what a real cluster would and a satellite that does
// nothing visibly fails. Each broker has a rack (Config.Rack; by default zone-<ordinal mod
// 3>) and is registered from its first start until UnregisterBroker, running while its pod
// is ready, fenced while a test says (Fence). Each partition has an explicit replica list,
// computed rack-aware when CreateTopics reaches the controller. The harness answers
// AlterPartitionAssignments (a reassignment stays in flight for SetReassignDelay, or while
// HoldReassignments holds it, or while a replica it adds is not alive; every accepted one
// is recorded, Reassignments), ListPartitionReassignments, DescribeLogDirs (the receiving
// broker's own replicas' bytes, against SetDiskBytes), DescribeCluster (alive brokers with
// racks; fenced ones on request), UnregisterBroker (recorded, Unregistered) and
// DescribeQuorum (kfake's controller node leads, unless SetQuorumLeader(false)); when each
// broker stopped is recorded too (Stops), and Partitions and Assign read and set the model. Metadata
// is kfake's answer (ACLs, topic ids, epochs) with brokers, leaders, replicas, ISR and
// offline replicas rewritten on the way out of the connection; ApiVersions gains the keys
// the harness serves. New brokers hold nothing until replicas are reassigned to them; a
// stopped or fenced broker leaves the ISR of its partitions, whose leaders move to another
// ISR member, or which go offline when none is left. kfake's own leaders follow the model,
// so Produce and Fetch go where metadata says.
//
// Kafka's metadata version is the harness's too (features.go): each cluster runs the Kafka
// version of its broker StatefulSet's image, is formatted at that version's newest
// metadata.version level and stays there until UpdateFeatures raises it; ApiVersions
// reports that level, so a satellite that never finalizes visibly does not.
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
//   - Replicas hold no data of their own: a replica's size in DescribeLogDirs is its
//     partition's bytes in the one store; a reassignment copies nothing, it only takes
//     time. The requests the harness answers itself check no ACLs (in Orbit only the
//     satellite's super user sends them), and a CreateTopics it refuses (replication
//     factor above the alive brokers) refuses every topic of the request.
//   - kfake moves leaders at random when a node is added or removed; the harness moves
//     them back (a client may see NOT_LEADER_FOR_PARTITION once and retry).
//   - A running broker that was unregistered stays so until it restarts (Kafka's broker
//     would register again on its next heartbeat).
//   - Client quotas are stored and described, not enforced.
//   - Only SaslHandshake v1 is served (librdkafka's kcat cannot authenticate); SCRAM
//     credentials are salted with 4096 iterations, and credentials upserted with 8192 do
//     not authenticate.
//   - Keystore configs are accepted with any value and not validated; the harness reloads
//     on the request even if ACLs then make kfake refuse it (only the super user sends it).
package simkafka
