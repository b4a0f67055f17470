package simkafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
)

// ClientPort is the port every simulated listener serves on, as Orbit's brokers do
// (satellite/kafka.go): listeners differ by loopback address, not by port.
const ClientPort = 9092

// BrokerIDOffset mirrors the satellite's broker node ids: broker ordinal i is node 1000+i,
// clear of the KRaft controllers' ids 0, 1, 2.
const BrokerIDOffset = 1000

// Errors.
var (
	// ErrExists: a cluster with this id is already in the fleet.
	ErrExists = errors.New("simkafka: cluster already exists")
	// ErrNotReady: the cluster cannot start a broker yet (its secrets are missing).
	ErrNotReady = errors.New("simkafka: cluster not ready")
	// ErrClosed: the fleet or cluster was closed.
	ErrClosed = errors.New("simkafka: closed")
)

// Fleet is every simulated Kafka physical cluster of a test or of dev mode. It hands out
// loopback addresses, keeps the DNS names registered for them, and dials through them.
type Fleet struct {
	log *slog.Logger

	mu       sync.Mutex
	clusters map[string]*Cluster
	ips      map[string]bool   // loopback addresses in use
	names    map[string]target // DNS name → what it points at
	closed   bool
}

// target is what a registered DNS name points at: a broker ordinal or the bootstrap.
type target struct {
	cluster *Cluster
	ordinal int
}

// NewFleet returns an empty fleet.
func NewFleet(log *slog.Logger) *Fleet {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fleet{log: log, clusters: map[string]*Cluster{}, ips: map[string]bool{}, names: map[string]target{}}
}

// Add puts a physical cluster into the fleet. It has no brokers until StartBroker.
func (f *Fleet) Add(cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := newCluster(f, cfg)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := f.clusters[cfg.ID]; ok {
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrExists, cfg.ID)
	}
	f.clusters[cfg.ID] = c
	f.mu.Unlock()
	c.Register(cfg.ControllerHost, ControllerOrdinal)
	return c, nil
}

// Get returns the cluster with the given id.
func (f *Fleet) Get(id string) (*Cluster, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clusters[id]
	return c, ok
}

// IDs returns the ids of the fleet's clusters.
func (f *Fleet) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, 0, len(f.clusters))
	for id := range f.clusters {
		ids = append(ids, id)
	}
	return ids
}

// Remove stops a cluster (every broker, its bootstrap and its store) and forgets its names.
func (f *Fleet) Remove(id string) {
	f.mu.Lock()
	c, ok := f.clusters[id]
	delete(f.clusters, id)
	for name, t := range f.names {
		if t.cluster == c {
			delete(f.names, name)
		}
	}
	f.mu.Unlock()
	if ok {
		c.close()
	}
}

// Close stops every cluster.
func (f *Fleet) Close() {
	f.mu.Lock()
	f.closed = true
	ids := make([]string, 0, len(f.clusters))
	for id := range f.clusters {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	for _, id := range ids {
		f.Remove(id)
	}
}

// register points a DNS name at a cluster's broker ordinal or its bootstrap.
func (f *Fleet) register(host string, t target) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.names[host] = t
}

// Resolve maps a registered DNS name to the address ("ip:port") that serves it now: the
// broker's listener, or the bootstrap forwarder. ok is false for names not registered, and
// for brokers that are not running.
func (f *Fleet) Resolve(host string) (addr string, ok bool) {
	f.mu.Lock()
	t, found := f.names[host]
	f.mu.Unlock()
	if !found {
		return "", false
	}
	return t.cluster.addrOf(t.ordinal)
}

// DialContext dials address ("host:port"), mapping registered names to the listeners that
// serve them; any other address is dialed as it is. It fits kgo.Dialer and net/http.
func (f *Fleet) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if addr, ok := f.Resolve(host); ok {
		address = addr
	} else if f.isName(host) {
		return nil, fmt.Errorf("simkafka: %s: no broker serves it now: %w", host, syscall.ECONNREFUSED)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func (f *Fleet) isName(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.names[host]
	return ok
}

// listen binds a fresh loopback address of the fleet's on ClientPort. Addresses are drawn at
// random from 127.64.0.0/10 so that concurrent fleets (other test processes) rarely meet;
// one that is taken is skipped.
func (f *Fleet) listen() (net.Listener, error) {
	var last error
	for range 64 {
		ip := fmt.Sprintf("127.%d.%d.%d", 64+rand.IntN(64), rand.IntN(256), 1+rand.IntN(254))
		f.mu.Lock()
		taken := f.ips[ip]
		if !taken {
			f.ips[ip] = true
		}
		f.mu.Unlock()
		if taken {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(ClientPort)))
		if err == nil {
			return ln, nil
		}
		f.release(ip)
		last = err
	}
	return nil, fmt.Errorf("simkafka: no free loopback address: %w", last)
}

// release returns a loopback address to the pool.
func (f *Fleet) release(ip string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ips, ip)
}

// TLSDialer is DialContext followed by a TLS handshake that verifies the name dialed (not
// the loopback address behind it), as a client reaching the real load balancer would. Give
// it to kgo.Dialer instead of kgo.DialTLSConfig, which kgo does not combine with a dialer.
func (f *Fleet) TLSDialer(cfg *tls.Config) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		raw, err := f.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		c := cfg.Clone()
		if c.ServerName == "" {
			c.ServerName = host
		}
		conn := tls.Client(raw, c)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}
