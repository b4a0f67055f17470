package satellite

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
)

// DialFunc dials a Kafka address (host:port, the names brokers advertise). Tests and the
// Kafka-protocol harness map names to their own listeners with it.
type DialFunc func(ctx context.Context, network, host string) (net.Conn, error)

// What the satellite does through the Kafka protocol, per Kafka cluster.
const (
	// kafkaTimeout bounds one cluster's Kafka work in a reconcile.
	kafkaTimeout = 10 * time.Second
	// kafkaRecheck is how soon a cluster is looked at again while a broker still serves
	// an older certificate (the kubelet refreshes mounted Secrets within about a minute).
	kafkaRecheck = 15 * time.Second
	// kafkaUnreachableRecheck is how soon an unreachable cluster is tried again.
	kafkaUnreachableRecheck = time.Minute
	// kafkaObserveEvery is how often a healthy cluster is observed through Kafka (what
	// it holds, for metering; the mitigation detectors).
	kafkaObserveEvery = time.Minute
	// kafkaResync is how often a reachable cluster's users and ACLs are compared with the
	// mirror even when nothing changed here: Kafka tells no one when they change, so drift
	// made out of band (an ACL deleted or added) is repaired within this time.
	kafkaResync = 30 * time.Second
	// conditionKafkaReachable says whether the satellite reaches the cluster's brokers.
	conditionKafkaReachable = "KafkaReachable"
)

// keystoreConfigs are the per-broker configurations that make a broker reload its
// listeners' keystore. Kafka rebuilds a listener's SSL engine when its keystore
// configuration is set again and the file changed (its modification time), even under
// the same path; it refuses a certificate whose subject or names differ, which is why a
// rotation keeps both. Keystores are per-broker configurations: they are set on each
// broker's resource, never cluster-wide. CONTROLLER is not here: controllers do not take
// these requests from brokers; they pick up the certificate when they restart, and a
// rotation leaves the old certificate valid for a third of its life.
var keystoreConfigs = []string{
	"listener.name.client.ssl.keystore.location",
	"listener.name.internal.ssl.keystore.location",
}

// kafkaAdmins keeps one admin client per Kafka cluster, made again when the cluster's
// seeds, credentials or CA change, and closed when the cluster is deleted.
type kafkaAdmins struct {
	dial DialFunc
	log  *slog.Logger
	// satellite labels the Kafka Admin API metrics.
	satellite string

	mu      sync.Mutex
	clients map[string]*kafkaAdmin
}

type kafkaAdmin struct {
	// key is what the client was made with (seeds, user, password, CA); compared, never
	// logged.
	key string
	cl  *kgo.Client
	adm *kadm.Client
}

func newKafkaAdmins(dial DialFunc, log *slog.Logger) *kafkaAdmins {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	return &kafkaAdmins{dial: dial, log: log, clients: map[string]*kafkaAdmin{}}
}

// tlsConfig trusts only the cluster's CA.
func clusterTLS(caPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the cluster's CA certificate does not parse")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// dialTLS dials addr with the injected dialer and completes a TLS handshake, verifying
// the server's name against addr's host. A broker advertised by address (a simulated
// cluster on a developer's machine, where nothing resolves the satellite's domain) is
// verified against the cluster's bootstrap name, which the certificate covers.
func (a *kafkaAdmins) dialTLS(ctx context.Context, cfg *tls.Config, network, addr string) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := a.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := cfg.Clone()
	if net.ParseIP(host) == nil || c.ServerName == "" {
		c.ServerName = host
	}
	conn := tls.Client(raw, c)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return conn, nil
}

// client returns the admin client of cluster, made (or made again) for these seeds,
// credentials and CA.
func (a *kafkaAdmins) client(cluster string, seeds []string, user, password string, caPEM []byte) (*kadm.Client, error) {
	key := hashString(append([]string{user, password, string(caPEM)}, seeds...)...)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[cluster]; c != nil {
		if c.key == key {
			return c.adm, nil
		}
		c.cl.Close()
		delete(a.clients, cluster)
	}
	cfg, err := clusterTLS(caPEM)
	if err != nil {
		return nil, err
	}
	if len(seeds) > 0 {
		cfg.ServerName, _, _ = net.SplitHostPort(seeds[0]) // the bootstrap name, for brokers advertised by address
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			return a.dialTLS(ctx, cfg, network, host)
		}),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
		kgo.ClientID("orbit-satellite"),
		kgo.WithHooks(kafkaMetrics{satellite: a.satellite, cluster: cluster}),
		kgo.RetryTimeout(kafkaTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	a.clients[cluster] = &kafkaAdmin{key: key, cl: cl, adm: kadm.NewClient(cl)}
	return a.clients[cluster].adm, nil
}

// raw is the client under cluster's admin client (nil before client made it).
func (a *kafkaAdmins) raw(cluster string) *kgo.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[cluster]; c != nil {
		return c.cl
	}
	return nil
}

// close closes and forgets cluster's client.
func (a *kafkaAdmins) close(cluster string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[cluster]; c != nil {
		c.cl.Close()
		delete(a.clients, cluster)
	}
}

// closeAll closes every client (the satellite stops).
func (a *kafkaAdmins) closeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, c := range a.clients {
		c.cl.Close()
		delete(a.clients, name)
	}
}

// servedSerial is the serial of the certificate a broker serves at addr.
func (a *kafkaAdmins) servedSerial(ctx context.Context, cfg *tls.Config, addr string) (string, error) {
	conn, err := a.dialTLS(ctx, cfg, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return "", errors.New("no certificate served")
	}
	return serialHex(certs[0]), nil
}

func (op *operator) closeKafka(cluster string) {
	if op.kafka != nil {
		op.kafka.close(cluster)
	}
	if op.mitigation != nil {
		op.mitigation.forget(cluster)
	}
}

// reconcileKafka does, level-based, what the cluster needs through the Kafka protocol,
// and reports it in st: each broker's served certificate is observed with a TLS handshake
// to its advertised address, and a broker serving another certificate than the Secret's
// is told to reload its keystores. A cluster the satellite cannot reach is a condition
// with its reason, never an error: the Kubernetes side goes on converging.
func (op *operator) reconcileKafka(ctx context.Context, o *PSCObject, out *rendered, st *PSCObjectStatus) {
	if op.kafka == nil || out.tls == nil || out.tls.ca == nil || out.tls.serial == "" || len(out.brokers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, kafkaTimeout)
	defer cancel()
	reachable := func(ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, metav1.Condition{Type: conditionKafkaReachable,
			Status: s, Reason: reason, Message: msg, ObservedGeneration: o.Generation})
	}
	if st.ReadyReplicas == 0 {
		reachable(false, "NoBrokerReady", "no broker is ready")
		return
	}
	cfg, err := clusterTLS(out.tls.ca.certPEM)
	if err != nil {
		reachable(false, "InvalidCA", err.Error())
		return
	}

	// Observe what every broker serves, in parallel.
	brokers := make([]kv.BrokerStatus, len(out.brokers))
	errs := make([]error, len(out.brokers))
	var wg sync.WaitGroup
	for i, b := range out.brokers {
		brokers[i] = kv.BrokerStatus{ID: b.id, Host: b.host}
		wg.Go(func() {
			brokers[i].CertificateSerial, errs[i] = op.kafka.servedSerial(ctx, cfg, net.JoinHostPort(b.host, strconv.Itoa(int(kafkaClientPort))))
		})
	}
	wg.Wait()
	var stale []int32
	var firstErr error
	unreachable := 0
	for i, b := range brokers {
		switch {
		case errs[i] != nil:
			unreachable++
			firstErr = cmpOr(firstErr, fmt.Errorf("broker %d (%s): %w", b.ID, b.Host, errs[i]))
		case b.CertificateSerial != out.tls.serial:
			stale = append(stale, b.ID)
		}
	}
	st.Brokers = brokers
	if unreachable == len(brokers) {
		reachable(false, "Unreachable", firstErr.Error())
		op.after(o.Name, kafkaUnreachableRecheck)
		return
	}
	if len(stale) > 0 {
		if err := op.reloadKeystores(ctx, o, out, stale); err != nil {
			reachable(false, "AdminFailed", err.Error())
			op.after(o.Name, kafkaUnreachableRecheck)
			return
		}
	}
	if err := op.reconcileCredentials(ctx, o, out); err != nil {
		reachable(false, "CredentialsFailed", err.Error())
		op.after(o.Name, kafkaUnreachableRecheck)
		return
	}
	op.observeAndMitigate(ctx, o, out, st)
	switch {
	case unreachable > 0:
		reachable(true, "SomeBrokersUnreachable", firstErr.Error())
	case len(stale) > 0:
		reachable(true, "ReloadingCertificates", fmt.Sprintf("brokers %v serve an older certificate; asked to reload it", stale))
	default:
		reachable(true, "Reachable", fmt.Sprintf("%d brokers serve certificate %s", len(brokers), out.tls.serial))
	}
	if unreachable > 0 || len(stale) > 0 {
		// The kubelet refreshes the mounted Secret on its own schedule: look again.
		op.after(o.Name, kafkaRecheck)
	} else {
		// What the cluster holds, its users and its ACLs change without any Kubernetes
		// event: look again.
		op.after(o.Name, min(cmp.Or(op.observeEvery, kafkaObserveEvery), kafkaResync))
	}
	if op.rebalance == nil && op.healthInterval <= 0 {
		return // the satellite neither moves replicas nor reads health (unit tests)
	}
	adm, cl, err := op.adminClient(ctx, o, out)
	var view *clusterView
	if err == nil {
		view, err = readView(ctx, cl)
	}
	if err != nil {
		reachable(false, "AdminFailed", err.Error())
		op.after(o.Name, kafkaRecheck)
		return
	}
	if op.rebalance != nil {
		if err := op.reconcilePlacement(ctx, o, out, st, adm, cl, view); err != nil {
			reachable(false, "PlacementFailed", err.Error())
			op.after(o.Name, kafkaRecheck)
			return
		}
	}
	problems, err := op.kafkaHealth(ctx, cl, adm, o, out, view, st)
	if err != nil {
		reachable(false, "HealthUnknown", err.Error())
		op.after(o.Name, kafkaRecheck)
		return
	}
	op.applyHealth(o, st, problems)
	if err := op.finalizeMetadata(ctx, cl, adm, o, st); err != nil {
		op.log.Warn("finalizing the metadata version", "cluster", o.Name, "error", err)
		op.after(o.Name, kafkaRecheck)
		return
	}
	if op.healthInterval > 0 {
		// Kafka's health changes with no Kubernetes event: read it again.
		op.after(o.Name, op.healthInterval)
	}
}

// reloadKeystores asks each stale broker to reload its listeners' keystores.
func (op *operator) reloadKeystores(ctx context.Context, o *PSCObject, out *rendered, stale []int32) error {
	adm, err := op.admin(ctx, o, out)
	if err != nil {
		return err
	}
	path := tlsKeystore
	var alter []kadm.AlterConfig
	for _, name := range keystoreConfigs {
		alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &path})
	}
	slices.Sort(stale)
	resps, err := adm.AlterBrokerConfigs(ctx, alter, stale...)
	if err != nil {
		return fmt.Errorf("reloading certificates: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil {
			return fmt.Errorf("reloading the certificate of broker %s: %w (%s)", r.Name, r.Err, r.ErrMessage)
		}
	}
	op.log.Info("asked brokers to reload their certificate", "cluster", o.Name, "brokers", stale, "serial", out.tls.serial)
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
