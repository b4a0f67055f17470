package simkafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Special ordinals for Register and Cluster.Addr.
const (
	// BootstrapOrdinal names the cluster's bootstrap load balancer.
	BootstrapOrdinal = -1
	// ControllerOrdinal names kfake's controller node (see the package doc).
	ControllerOrdinal = -2
	// ControllerNodeID is the node id kfake gives its controller; it is also the node id of
	// Orbit's first KRaft controller, kafka-controller-0.
	ControllerNodeID int32 = 0
)

// Secrets is where a cluster's brokers find the material a real broker pod would have: the
// super user's SCRAM credentials (bootstrapped into the store when it is formatted) and the
// keystore (the TLS Secret mounted into the pod). Both are read when the cluster's first
// broker starts; the keystore again whenever a broker is told to reload it.
type Secrets interface {
	// Superuser returns the SCRAM-SHA-512 super user's name and password.
	Superuser(ctx context.Context) (user, password string, err error)
	// Keystore returns the PEM keystore: the private key and the certificate chain.
	Keystore(ctx context.Context) ([]byte, error)
}

// Config describes one physical cluster of the fleet.
type Config struct {
	// ID is the physical cluster id (Kafka's cluster.id).
	ID string
	// Secrets gives the brokers their credentials and certificates.
	Secrets Secrets
	// ControllerHost is the name kfake's controller node advertises; register it if clients
	// must reach it (a client sends CreateTopics and SCRAM changes there).
	ControllerHost string
	// AdvertiseAddresses makes every listener of the cluster (kfake's controller node too)
	// advertise its loopback address, not the first name registered for it: a client outside
	// the process (dev mode's orbit CLI) reaches every node it is redirected to without
	// resolving names. Registered names still resolve through the Fleet.
	AdvertiseAddresses bool
	// Log receives kfake's warnings and the harness's own events.
	Log *slog.Logger
	// Rack names broker ordinal i's rack (broker.rack); nil: DefaultRack.
	Rack func(ordinal int) string
	// KafkaVersion is the Kafka version the brokers run when the cluster is formatted
	// ("3.9.0"); it sets the metadata version the cluster starts at (see features.go).
	KafkaVersion string
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("simkafka: cluster id is empty")
	case c.Secrets == nil:
		return fmt.Errorf("simkafka: cluster %s: no secrets", c.ID)
	case c.ControllerHost == "":
		return fmt.Errorf("simkafka: cluster %s: no controller host", c.ID)
	}
	return nil
}

// Broker is one running broker (or kfake's controller node) as the harness serves it.
type Broker struct {
	Ordinal int
	NodeID  int32
	// Host is the name the broker advertises in metadata; Addr is where it listens.
	Host, Addr string
	// CertSerial is the serial number (decimal) of the certificate the broker serves;
	// CertLoaded is when it was loaded.
	CertSerial string
	CertLoaded time.Time
	// ReloadRequested is when the last keystore reload request reached the broker through
	// the Admin API (zero if none did); Reloads counts them.
	ReloadRequested time.Time
	Reloads         int
}

// Cluster is one physical Kafka cluster: a kfake cluster whose nodes are the ready broker
// pods, plus kfake's controller node and a bootstrap load balancer.
type Cluster struct {
	fleet *Fleet
	cfg   Config
	log   *slog.Logger

	// life serialises what starts and stops brokers. It is held while kfake adds or removes
	// nodes, so nothing kfake may wait for (request interception) takes it.
	life    sync.Mutex
	kafka   *kfake.Cluster
	boot    *forwarder
	pending *broker // the broker whose listener kfake asks for next
	closed  bool

	// mu guards the maps below; held only briefly.
	mu         sync.Mutex
	brokers    map[int]*broker // by ordinal; the controller under ControllerOrdinal
	advertised map[int]string  // ordinal → the first name registered for it
	control    *dispatcher
	place      *placement
	meta       metadataModel
}

type broker struct {
	ordinal int
	node    int32
	host    string
	ln      *listener
	cert    atomic.Pointer[tls.Certificate]

	mu              sync.Mutex
	serial          string
	loaded          time.Time
	reloadRequested time.Time
	reloads         int
}

func newCluster(f *Fleet, cfg Config) *Cluster {
	log := cfg.Log
	if log == nil {
		log = f.log
	}
	c := &Cluster{fleet: f, cfg: cfg, log: log.With("cluster", cfg.ID),
		brokers: map[int]*broker{}, advertised: map[int]string{}, control: newDispatcher()}
	c.place = newPlacement(c)
	c.interceptKeystoreReloads()
	c.interceptPlacement()
	c.interceptFeatures()
	c.meta.version = cfg.KafkaVersion
	return c
}

// ID is the cluster's id.
func (c *Cluster) ID() string { return c.cfg.ID }

// Register points a DNS name at a broker (by ordinal) or at BootstrapOrdinal, for
// Fleet.Resolve and Fleet.DialContext. The first name registered for a broker is the one it
// advertises when it starts, as Kafka's advertised.listeners (unless the cluster advertises
// addresses: then Register is Alias).
func (c *Cluster) Register(host string, ordinal int) {
	if c.cfg.AdvertiseAddresses {
		c.Alias(host, ordinal)
		return
	}
	c.mu.Lock()
	if _, ok := c.advertised[ordinal]; !ok {
		c.advertised[ordinal] = host
	}
	c.mu.Unlock()
	c.fleet.register(host, target{cluster: c, ordinal: ordinal})
}

// Alias points a DNS name at a broker (or the bootstrap) for Fleet.Resolve and
// Fleet.DialContext only: the broker keeps advertising what it advertised (its loopback
// address, when no name was registered).
func (c *Cluster) Alias(host string, ordinal int) {
	c.fleet.register(host, target{cluster: c, ordinal: ordinal})
}

// NodeID is the node id of broker ordinal i.
func NodeID(ordinal int) int32 { return int32(BrokerIDOffset + ordinal) }

// StartBroker brings broker ordinal i up, as when its pod becomes ready. The cluster's first
// broker also formats the store: it creates the kfake cluster with the super user. Starting
// a running broker does nothing.
func (c *Cluster) StartBroker(ctx context.Context, ordinal int) error {
	if ordinal < 0 {
		return fmt.Errorf("simkafka: broker ordinal %d", ordinal)
	}
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.lookup(ordinal) != nil {
		return nil
	}
	keystore, err := c.cfg.Secrets.Keystore(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: keystore: %w", ErrNotReady, c.cfg.ID, err)
	}
	if c.kafka == nil {
		if err := c.format(ctx, keystore); err != nil {
			return err
		}
	}
	b := &broker{ordinal: ordinal, node: NodeID(ordinal), host: c.advertisedHost(ordinal)}
	if err := b.load(keystore); err != nil {
		return fmt.Errorf("simkafka: %s: broker %d: %w", c.cfg.ID, ordinal, err)
	}
	c.pending = b
	if _, _, err := c.kafka.AddNode(b.node, ClientPort); err != nil {
		return fmt.Errorf("simkafka: %s: broker %d: %w", c.cfg.ID, ordinal, err)
	}
	c.mu.Lock()
	c.brokers[ordinal] = b
	c.mu.Unlock()
	c.place.setNode(b.node, ordinal, func(n *pnode) { n.registered, n.running, n.fenced = true, true, false })
	c.log.Debug("simkafka: broker started", "node", b.node, "addr", b.ln.ip)
	return nil
}

// format creates the kfake cluster, as kafka-storage.sh format --add-scram and the start
// of the KRaft controller would: its one initial node is kfake's controller.
func (c *Cluster) format(ctx context.Context, keystore []byte) error {
	user, password, err := c.cfg.Secrets.Superuser(ctx)
	if err != nil {
		return fmt.Errorf("%w: %s: super user: %w", ErrNotReady, c.cfg.ID, err)
	}
	if user == "" || password == "" {
		return fmt.Errorf("%w: %s: super user has no name or password", ErrNotReady, c.cfg.ID)
	}
	ctl := &broker{ordinal: ControllerOrdinal, node: ControllerNodeID, host: c.advertisedHost(ControllerOrdinal)}
	if err := ctl.load(keystore); err != nil {
		return fmt.Errorf("simkafka: %s: controller: %w", c.cfg.ID, err)
	}
	boot, err := c.fleet.listen()
	if err != nil {
		return err
	}
	c.pending = ctl
	k, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ListenFn(c.listenPending),
		kfake.ClusterID(c.cfg.ID),
		kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-512", user, password),
		kfake.EnableACLs(),
		kfake.WithLogger(kfakeLogger{c.log}),
	)
	if err != nil {
		boot.Close()
		return fmt.Errorf("simkafka: %s: %w", c.cfg.ID, err)
	}
	c.kafka = k
	c.formatMetadata()
	c.boot = newForwarder(boot, c.pickBroker, c.log)
	c.mu.Lock()
	c.brokers[ControllerOrdinal] = ctl
	c.mu.Unlock()
	c.place.attach(k)
	c.place.setNode(ControllerNodeID, -1, func(n *pnode) { n.registered, n.running = true, true })
	c.control.attach(k)
	return nil
}

// listenPending is kfake's listener hook: the pending broker gets a loopback address of its
// own, TLS with its current certificate, and advertises its name.
func (c *Cluster) listenPending(string, string) (net.Listener, error) {
	b := c.pending
	if b == nil {
		return nil, errors.New("simkafka: no broker is starting")
	}
	raw, err := c.fleet.listen()
	if err != nil {
		return nil, err
	}
	ip, _, _ := net.SplitHostPort(raw.Addr().String())
	host := b.host
	if host == "" {
		host = ip
	}
	tlsLn := tls.NewListener(raw, &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return b.cert.Load(), nil },
	})
	b.ln = newListener(tlsLn, ip, net.JoinHostPort(host, strconv.Itoa(ClientPort)), func() { c.fleet.release(ip) })
	b.ln.wrap = func(conn net.Conn) net.Conn { return &wireConn{Conn: conn, place: c.place} }
	return b.ln, nil
}

// StopBroker takes broker ordinal i down, as when its pod goes away: its listener and every
// connection to it close, and metadata no longer lists it. Stopping a stopped broker does
// nothing.
func (c *Cluster) StopBroker(ordinal int) error {
	c.life.Lock()
	defer c.life.Unlock()
	b := c.lookup(ordinal)
	if b == nil || ordinal < 0 {
		return nil
	}
	if err := c.kafka.RemoveNode(b.node); err != nil {
		return fmt.Errorf("simkafka: %s: broker %d: %w", c.cfg.ID, ordinal, err)
	}
	c.mu.Lock()
	delete(c.brokers, ordinal)
	c.mu.Unlock()
	c.place.setNode(b.node, ordinal, func(n *pnode) { n.running = false; n.stops = append(n.stops, time.Now()) })
	c.log.Debug("simkafka: broker stopped", "node", b.node)
	return nil
}

// SyncBrokers starts the brokers whose ordinals are ready and stops the others.
func (c *Cluster) SyncBrokers(ctx context.Context, ready []int) error {
	var errs []error
	for _, b := range c.Brokers() {
		if !slices.Contains(ready, b.Ordinal) {
			errs = append(errs, c.StopBroker(b.Ordinal))
		}
	}
	for _, i := range ready {
		errs = append(errs, c.StartBroker(ctx, i))
	}
	return errors.Join(errs...)
}

// Brokers returns the running brokers, by node id (kfake's controller node excluded).
func (c *Cluster) Brokers() []Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Broker
	for ord, b := range c.brokers {
		if ord >= 0 {
			out = append(out, b.snapshot())
		}
	}
	slices.SortFunc(out, func(a, b Broker) int { return int(a.NodeID - b.NodeID) })
	return out
}

// allBrokers is every running broker and kfake's controller node.
func (c *Cluster) allBrokers() []Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Broker, 0, len(c.brokers))
	for _, b := range c.brokers {
		out = append(out, b.snapshot())
	}
	return out
}

// Broker returns broker ordinal i (or ControllerOrdinal) if it runs.
func (c *Cluster) Broker(ordinal int) (Broker, bool) {
	b := c.lookup(ordinal)
	if b == nil {
		return Broker{}, false
	}
	return b.snapshot(), true
}

// Addr is the loopback address ("ip:port") serving broker ordinal i, BootstrapOrdinal or
// ControllerOrdinal; ok is false when nothing serves it now.
func (c *Cluster) Addr(ordinal int) (string, bool) { return c.addrOf(ordinal) }

// Kafka is the kfake cluster, nil before the first broker starts. Use it for kfake's own
// controls (MoveTopicPartition, SetFollowers); intercept requests with Intercept instead of
// its ControlKey, so that interceptors compose.
func (c *Cluster) Kafka() *kfake.Cluster {
	c.life.Lock()
	defer c.life.Unlock()
	return c.kafka
}

func (c *Cluster) addrOf(ordinal int) (string, bool) {
	if ordinal == BootstrapOrdinal {
		c.life.Lock()
		boot := c.boot
		c.life.Unlock()
		if boot == nil {
			return "", false
		}
		return boot.ln.Addr().String(), true
	}
	b := c.lookup(ordinal)
	if b == nil {
		return "", false
	}
	return b.ln.addr(), true
}

func (c *Cluster) lookup(ordinal int) *broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[ordinal]
}

func (c *Cluster) byNode(node int32) *broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.brokers {
		if b.node == node {
			return b
		}
	}
	return nil
}

func (c *Cluster) advertisedHost(ordinal int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advertised[ordinal]
}

// pickBroker is where the bootstrap load balancer sends a new connection: any running
// broker (not kfake's controller node, which stands for the KRaft quorum).
func (c *Cluster) pickBroker() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var addrs []string
	for ord, b := range c.brokers {
		if ord >= 0 {
			addrs = append(addrs, b.ln.addr())
		}
	}
	if len(addrs) == 0 {
		return "", false
	}
	return addrs[rand.IntN(len(addrs))], true
}

func (c *Cluster) close() {
	c.life.Lock()
	defer c.life.Unlock()
	c.closed = true
	c.place.close()
	if c.kafka != nil {
		c.kafka.Close()
	}
	if c.boot != nil {
		c.boot.Close()
	}
	c.mu.Lock()
	for _, b := range c.brokers {
		_ = b.ln.Close() // kfake closed it already; this releases the connections and address
	}
	clear(c.brokers)
	c.mu.Unlock()
}

// load makes the keystore the certificate the broker serves.
func (b *broker) load(keystore []byte) error {
	cert, err := tls.X509KeyPair(keystore, keystore)
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cert.Store(&cert)
	b.serial = cert.Leaf.SerialNumber.String()
	b.loaded = time.Now()
	return nil
}

func (b *broker) snapshot() Broker {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Broker{Ordinal: b.ordinal, NodeID: b.node, Host: b.ln.advertised, Addr: b.ln.addr(),
		CertSerial: b.serial, CertLoaded: b.loaded, ReloadRequested: b.reloadRequested, Reloads: b.reloads}
}

// kfakeLogger passes kfake's errors and warnings to slog at debug level: kfake warns about
// every refused request, which tests provoke on purpose.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	if level <= kfake.LogLevelWarn && level != kfake.LogLevelNone {
		l.log.Debug("kfake: "+fmt.Sprintf(msg, args...), "level", level.String())
	}
}
