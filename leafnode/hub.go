package leafnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/kv"
)

// ErrNotReady is returned when an embedded server does not become ready in time.
var ErrNotReady = errors.New("nats server not ready")

// readyTimeout bounds how long Start waits for an embedded server.
const readyTimeout = 30 * time.Second

// HubConfig configures the mothership's hub.
type HubConfig struct {
	// ServerName names the server in logs and monitoring (default "orbit-hub"). Each node
	// of a hub cluster needs its own.
	ServerName string
	// StoreDir holds JetStream data.
	StoreDir string
	// ClientListen is the client listener, host:port (port -1 or 0: random). Empty: no client
	// listener; the mothership connects in-process.
	ClientListen string
	// LeafListen is the leaf-node listener satellites connect to, host:port.
	LeafListen string
	// MothershipNKey is the public user nkey of the mothership's own connection. A hub node
	// that runs without a mothership (another node of a hub cluster) leaves it empty; it then
	// gets a key nobody holds, so the server never runs without authentication.
	MothershipNKey string
	// Satellites are the satellites allowed to connect, each with its own permissions.
	Satellites []SatelliteUser
	// Readers are public user nkeys of operators' read-only credentials (ReaderPermissions):
	// the stock `nats` CLI lists, reads and watches the buckets with them.
	Readers []string
	// LeafAdvertise, if set, is the host:port the hub tells satellites to reach its leaf
	// listener at (a load balancer in front of a hub cluster). Empty: the hub advertises
	// nothing and satellites keep to the URLs they were configured with; advertising the
	// listener's own address would let a satellite go around whatever fronts the hub.
	LeafAdvertise string
	// LeafTLS, if set, serves the leaf-node listener over TLS (see CertReloader).
	LeafTLS *tls.Config
	// Cluster, if set, makes this server one node of a hub cluster: JetStream then
	// replicates the buckets across the nodes (the mothership's Replicas).
	Cluster *ClusterConfig
	// Log receives the server's log; nil keeps it silent.
	Log *slog.Logger
}

// ClusterConfig joins a hub to the other nodes of a hub cluster: the production topology,
// three nodes with every bucket replicated three times, so that losing one node loses no
// write and stops no satellite. Every node serves satellites on its own leaf listener with
// the same satellite users; a satellite lists all the nodes' leaf URLs.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every node.
	Name string
	// Listen is this node's route listener, host:port. Keep it on a private network.
	Listen string
	// Routes are the route URLs of the nodes (nats-route://host:port); listing the node
	// itself is harmless, so every node can be given the same list.
	Routes []string
	// Secret, if set, is required of every route connection (and presented on the ones this
	// node opens); every node must have the same.
	Secret string
}

// routeUser is the user name that route connections authenticate with.
const routeUser = "orbit-route"

func (c *ClusterConfig) validate() error {
	if err := kv.ValidateName("cluster name", c.Name); err != nil {
		return err
	}
	if _, _, err := splitListen("cluster listen", c.Listen); err != nil {
		return err
	}
	if len(c.Routes) == 0 {
		return errors.New("cluster routes: at least one route URL is required")
	}
	for _, r := range c.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats-route" || u.Host == "" {
			return fmt.Errorf("cluster routes: %q is not a nats-route://host:port URL", r)
		}
	}
	return nil
}

// SatelliteUser is one satellite's identity on the hub.
type SatelliteUser struct {
	Name string
	// NKey is the satellite's public user nkey.
	NKey string
}

// Validate checks the configuration.
func (c *HubConfig) Validate() error {
	if c.StoreDir == "" {
		return errors.New("hub: store dir is required")
	}
	if c.LeafListen == "" {
		return errors.New("hub: leaf listen address is required")
	}
	for _, r := range c.Readers {
		if !nkeys.IsValidPublicUserKey(r) {
			return errors.New("hub: reader nkeys must be public user nkeys")
		}
	}
	if c.MothershipNKey != "" && !nkeys.IsValidPublicUserKey(c.MothershipNKey) {
		return errors.New("hub: mothership nkey must be a public user nkey")
	}
	if c.Cluster != nil {
		if c.ServerName == "" {
			return errors.New("hub: server name is required on a node of a hub cluster (each node needs its own)")
		}
		if err := c.Cluster.validate(); err != nil {
			return fmt.Errorf("hub: %w", err)
		}
	}
	return validateSatellites(c.Satellites)
}

func validateSatellites(users []SatelliteUser) error {
	seen := map[string]bool{}
	for _, u := range users {
		if err := kv.ValidateName("satellite", u.Name); err != nil {
			return err
		}
		if seen[u.Name] {
			return fmt.Errorf("satellite %q listed twice", u.Name)
		}
		seen[u.Name] = true
		if !nkeys.IsValidPublicUserKey(u.NKey) {
			return fmt.Errorf("satellite %q: nkey must be a public user nkey", u.Name)
		}
	}
	return nil
}

// Hub is the mothership's embedded NATS server.
type Hub struct {
	srv        *server.Server
	mothership string // public nkey; the server may reorder opts.Nkeys
	gateway    string // public nkey of the reader gateway's in-process connection
	readers    []string
	gw         *nats.Conn
	mu         sync.Mutex
	opts       *server.Options
}

// StartHub starts the hub and waits until it accepts connections.
func StartHub(cfg HubConfig) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MothershipNKey == "" {
		kp, err := nkeys.CreateUser()
		if err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		cfg.MothershipNKey, _ = kp.PublicKey() // the seed is dropped: nobody can use this user
	}
	gkp, err := nkeys.CreateUser() // held only in this process, for the reader gateway
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	gateway, _ := gkp.PublicKey()
	opts, err := hubOptions(cfg, gateway)
	if err != nil {
		return nil, err
	}
	srv, err := startServer("hub", opts, cfg.Log)
	if err != nil {
		return nil, err
	}
	h := &Hub{srv: srv, mothership: cfg.MothershipNKey, gateway: gateway, readers: cfg.Readers, opts: opts}
	if h.gw, err = startReaderGateway(srv, gkp, cfg.Log); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	return h, nil
}

func hubOptions(cfg HubConfig, gateway string) (*server.Options, error) {
	name := cfg.ServerName
	if name == "" {
		name = "orbit-hub"
	}
	opts := &server.Options{
		ServerName:      name,
		JetStream:       true,
		JetStreamDomain: kv.HubDomain,
		StoreDir:        cfg.StoreDir,
		NoSigs:          true,
		NoLog:           cfg.Log == nil,
		Nkeys:           hubUsers(cfg.MothershipNKey, gateway, cfg.Readers, cfg.Satellites),
	}
	switch {
	case cfg.ClientListen == "" && cfg.Cluster == nil:
		opts.DontListen = true
	case cfg.ClientListen == "":
		// nats-server starts routing only once the client listener is up: a node of a hub
		// cluster gets one on loopback (it still requires authentication).
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	default:
		host, port, err := splitListen("client listen", cfg.ClientListen)
		if err != nil {
			return nil, err
		}
		opts.Host, opts.Port = host, port
	}
	host, port, err := splitListen("leaf listen", cfg.LeafListen)
	if err != nil {
		return nil, err
	}
	opts.LeafNode.Host, opts.LeafNode.Port = host, port
	opts.LeafNode.Advertise, opts.LeafNode.NoAdvertise = cfg.LeafAdvertise, cfg.LeafAdvertise == ""
	if cfg.LeafTLS != nil {
		opts.LeafNode.TLSConfig = cfg.LeafTLS
		opts.LeafNode.TLSTimeout = 5
	}
	if c := cfg.Cluster; c != nil {
		host, port, err := splitListen("cluster listen", c.Listen)
		if err != nil {
			return nil, err
		}
		opts.Cluster.Name, opts.Cluster.Host, opts.Cluster.Port = c.Name, host, port
		opts.Cluster.NoAdvertise = true // nodes reach each other by the configured routes
		if c.Secret != "" {
			opts.Cluster.Username, opts.Cluster.Password = routeUser, c.Secret
		}
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("cluster routes: %w", err)
			}
			if c.Secret != "" {
				u.User = url.UserPassword(routeUser, c.Secret)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	return opts, nil
}

func hubUsers(mothership, gateway string, readers []string, sats []SatelliteUser) []*server.NkeyUser {
	users := []*server.NkeyUser{{Nkey: mothership}, {Nkey: gateway, Permissions: gatewayPermissions()}}
	for _, r := range readers {
		users = append(users, &server.NkeyUser{Nkey: r, Permissions: ReaderPermissions()})
	}
	for _, s := range sats {
		users = append(users, &server.NkeyUser{Nkey: s.NKey, Permissions: SatellitePermissions(s.Name)})
	}
	return users
}

// Server returns the embedded server (for in-process connections).
func (h *Hub) Server() *server.Server { return h.srv }

// LeafURL is the URL satellites use to reach the leaf-node listener.
func (h *Hub) LeafURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	host := net.JoinHostPort(h.opts.LeafNode.Host, strconv.Itoa(h.opts.LeafNode.Port))
	return (&url.URL{Scheme: "nats-leaf", Host: host}).String()
}

// ClientURL is the client listener's URL, or "" when there is none.
func (h *Hub) ClientURL() string {
	if h.opts.DontListen {
		return ""
	}
	return h.srv.ClientURL()
}

// SetSatellites replaces the set of satellites allowed to connect, without a restart. A
// satellite that is removed (or whose key changes) is disconnected: nats-server does not
// re-check leaf connections on reload and does not tell which nkey a leaf connection used,
// so every leaf connection is closed and the others reconnect at once with their still
// valid credentials; their data planes never notice.
func (h *Hub) SetSatellites(users []SatelliteUser) error {
	if err := validateSatellites(users); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := hubUsers(h.mothership, h.gateway, h.readers, users)
	if sameUsers(h.opts.Nkeys, want) {
		// Reload only for a real change: it is not free, and nats-server v2.15.2 reads its
		// options unlocked on the direct-get path while a reload swaps them.
		return nil
	}
	// Only the satellites' users matter here: the others do not change.
	removed := !subsetUsers(h.leafUsers(h.opts.Nkeys), want)
	next := h.opts.Clone()
	next.Nkeys = want
	if err := h.srv.ReloadOptions(next); err != nil {
		return fmt.Errorf("hub: reload: %w", err)
	}
	h.opts = next
	if removed {
		return h.disconnectLeafs()
	}
	return nil
}

// leafUsers are the satellites' users among users (not the mothership's, the gateway's or readers').
func (h *Hub) leafUsers(users []*server.NkeyUser) []*server.NkeyUser {
	var out []*server.NkeyUser
	for _, u := range users {
		if u.Nkey != h.mothership && u.Nkey != h.gateway && !slices.Contains(h.readers, u.Nkey) {
			out = append(out, u)
		}
	}
	return out
}

// subsetUsers reports whether every user of a is in b unchanged.
func subsetUsers(a, b []*server.NkeyUser) bool {
	have := map[string]string{}
	for _, u := range b {
		have[u.Nkey] = permString(u.Permissions)
	}
	for _, u := range a {
		if p, ok := have[u.Nkey]; !ok || p != permString(u.Permissions) {
			return false
		}
	}
	return true
}

// disconnectLeafs closes every leaf-node connection.
func (h *Hub) disconnectLeafs() error {
	lz, err := h.srv.Leafz(nil)
	if err != nil {
		return fmt.Errorf("hub: leafz: %w", err)
	}
	for _, l := range lz.Leafs {
		_ = h.srv.DisconnectClientByID(l.ID) // it may have gone by itself meanwhile
	}
	return nil
}

// sameUsers compares two user lists by key and permissions, in any order.
func sameUsers(a, b []*server.NkeyUser) bool {
	if len(a) != len(b) {
		return false
	}
	perms := map[string]string{}
	for _, u := range a {
		perms[u.Nkey] = permString(u.Permissions)
	}
	for _, u := range b {
		p, ok := perms[u.Nkey]
		if !ok || p != permString(u.Permissions) {
			return false
		}
	}
	return true
}

func permString(p *server.Permissions) string {
	if p == nil {
		return "all"
	}
	return fmt.Sprint(p.Publish.Allow, p.Subscribe.Allow)
}

// Shutdown stops the hub and waits for it.
func (h *Hub) Shutdown() {
	h.gw.Close()
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// SatellitePermissions is everything one satellite may do on the hub:
//
//   - reset its own durable desired and credentials consumers and answer their flow
//     control;
//   - receive its own desired and credentials deliveries and the (scoped) replies to its
//     reset requests;
//   - write its own actual keys and its own registration;
//   - receive replies on its own inbox prefix.
//
// On a leaf connection nats-server applies the two lists in directions that differ from a
// client's (interest the hub advertises is filtered by one, messages by the other), so
// both lists hold the same subjects: every one of them names this satellite, so whichever
// direction a list governs, a satellite can only ever reach what is its own. The isolation
// tests try every forbidden action with real servers.
func SatellitePermissions(satellite string) *server.Permissions {
	var subjects []string
	for _, bucket := range kv.MirroredBuckets {
		consumer := kv.MirrorConsumerName(bucket, satellite)
		stream := kv.StreamName(bucket)
		subjects = append(subjects,
			kv.MirrorConsumerResetSubject(bucket, satellite),
			"$JS.FC."+stream+"."+consumer+".*",
			kv.MirrorDeliverSubject(bucket, satellite),
			"$JSC.R."+kv.HubDomain+".*."+stream+"."+consumer+".*",
		)
	}
	subjects = append(subjects,
		kv.HubPutSubject(kv.BucketActual, satellite)+".>",
		kv.HubPutSubject(kv.BucketSatellites, satellite),
		InboxPrefix(satellite)+".>",
	)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: subjects},
		Subscribe: &server.SubjectPermission{Allow: append([]string(nil), subjects...)},
	}
}

// InboxPrefix is the inbox prefix of a satellite's client connections: replies to its
// requests (JetStream publish acknowledgements) come back under it.
func InboxPrefix(satellite string) string { return "_INBOX_" + satellite }

// Connect opens an in-process client connection to the hub, authenticated with the
// mothership's nkey.
func (h *Hub) Connect(kp nkeys.KeyPair, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.InProcessServer(h.srv), NKeyAuth(kp), nats.MaxReconnects(-1)}, opts...)
	return nats.Connect("", opts...)
}

// NKeyAuth authenticates a client connection with a user nkey pair.
func NKeyAuth(kp nkeys.KeyPair) nats.Option {
	pub, err := kp.PublicKey()
	if err != nil {
		return func(*nats.Options) error { return fmt.Errorf("nkey: %w", err) }
	}
	return nats.Nkey(pub, kp.Sign)
}

// ReaderPermissions are an operator's read-only credential's, enough for the stock `nats`
// CLI's `kv ls`, `kv get` and `kv watch` with `--js-api-prefix '$ORBIT.READER.API'`
// (ReaderAPIPrefix): a reader may publish only to that prefix, which the hub's reader
// gateway answers (startReaderGateway: account and stream info, stream names and lists,
// message and direct gets, consumer info and ephemeral consumer creation, on the buckets'
// streams only; everything else, durable consumers included, is refused), answer its
// consumers' flow control on the buckets' streams, and receive on inboxes. Subject
// permissions alone cannot refuse a durable consumer (CONSUMER.CREATE names the consumer,
// not whether it is durable): the gateway reads the request. Nothing that writes a message
// or changes a stream or a consumer is allowed: no $KV publish, no $JS.API subject at all.
func ReaderPermissions() *server.Permissions {
	allow := []string{ReaderAPIPrefix + ".>"}
	for _, b := range []string{kv.BucketDesired, kv.BucketActual, kv.BucketSatellites} {
		allow = append(allow, "$JS.FC."+kv.StreamName(b)+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: allow},
		Subscribe: &server.SubjectPermission{Allow: []string{readerInbox + ">"}},
	}
}
