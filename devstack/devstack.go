// Package devstack composes Orbit on one machine: a control plane (embedded NATS hub, SQL
// store, mothership) and in-process satellites, each on a real Kubernetes (a kubeconfig) or
// a simulated one. `mothership dev` runs it; the end-to-end tests drive its parts one by
// one (stop the control plane, restart a satellite, ...). It writes nothing of its own
// beyond the files under the data directory.
package devstack

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/onboarding"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/satellite/simkube"
)

// ControlPlaneConfig configures the control plane.
type ControlPlaneConfig struct {
	// NATSReaders are public user nkeys of operators' read-only hub credentials
	// (`mothership nats-reader`).
	NATSReaders []string
	// DataDir holds the SQLite database (orbit.db) and the hub's JetStream data (nats/),
	// unless DB names another database.
	DataDir string
	// DB is a database DSN; empty means SQLite in DataDir.
	DB string
	// CredentialKeyFile holds the control plane's curve key seed (mothership.LoadCredentialKey);
	// empty means DataDir/credential-key. Replicas of one control plane must share it.
	CredentialKeyFile string
	// Listen is the API address; LeafListen the hub's leaf-node listener; ClientListen its
	// client listener ("" for none).
	Listen, LeafListen, ClientListen string
	// DeletedRetention: how long deleted clusters stay restorable (0: the default).
	DeletedRetention time.Duration
	// UsageInterval: how often usage is metered (0: the default).
	UsageInterval time.Duration
	// RolloutInterval: how often rollouts are stepped (0: the default).
	RolloutInterval time.Duration
	// SatelliteTTL: how old a heartbeat may be for a rollout to count a satellite's reports
	// (0: the default).
	SatelliteTTL time.Duration
	// NATSURL, if set, makes the mothership a client of an existing hub (a `mothership hub`
	// node or cluster) instead of embedding a hub node: it connects there with the user nkey
	// NATSSeed, which the hub knows as the mothership's (`mothership hub --nats-seed-file`).
	// Several replicas can then share one database and one hub.
	NATSURL  string
	NATSSeed []byte
	// ReplicaID and LeaseTTL: the mothership's name in the leader election and its lease
	// (see mothership.Config).
	ReplicaID string
	LeaseTTL  time.Duration
	// TLSCert and TLSKey, if set, serve the API and the leaf-node listener over TLS; the
	// files are watched and reloaded without a restart. With TLSCA, satellites must present
	// client certificates signed by it.
	TLSCert, TLSKey, TLSCA string
	// ServerName names the embedded hub server; Cluster, if set, joins it to the other nodes
	// of a hub cluster (see leafnode.ClusterConfig), and Replicas is how many copies of each
	// bucket the cluster keeps (0: 1).
	ServerName string
	Cluster    *leafnode.ClusterConfig
	Replicas   int
	Log        *slog.Logger
}

// ControlPlane is a running hub, store and mothership.
type ControlPlane struct {
	Hub        *leafnode.Hub // nil for a client of an existing hub
	Store      *db.Store
	Mothership *mothership.Mothership
	Conn       *nats.Conn
	// CredentialSender is the control plane's public curve key: what its satellites accept
	// Kafka credentials from.
	CredentialSender string

	certs  *leafnode.CertReloader
	reload chan struct{}
	cancel context.CancelFunc
	done   chan error
}

// StartControlPlane starts the control plane and waits until every layer is up.
func StartControlPlane(ctx context.Context, cfg ControlPlaneConfig) (*ControlPlane, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	dsn := cfg.DB
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "orbit.db")
	}
	store, err := db.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	keyFile := cfg.CredentialKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "credential-key")
	}
	credKey, err := mothership.LoadCredentialKey(keyFile)
	if err != nil {
		store.Close()
		return nil, err
	}
	if cfg.NATSURL != "" {
		return startClientControlPlane(ctx, cfg, store, credKey, log)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		store.Close()
		return nil, err
	}
	pub, _ := kp.PublicKey()
	var (
		certs           *leafnode.CertReloader
		leafTLS, apiTLS *tls.Config
	)
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if certs, err = leafnode.NewCertReloader(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			store.Close()
			return nil, err
		}
		if leafTLS, err = certs.ServerConfig(cfg.TLSCA); err != nil {
			store.Close()
			return nil, err
		}
		apiTLS, _ = certs.ServerConfig("")
	}
	hub, err := leafnode.StartHub(leafnode.HubConfig{
		ServerName: cfg.ServerName, StoreDir: filepath.Join(cfg.DataDir, "nats"), ClientListen: cfg.ClientListen, LeafListen: cfg.LeafListen,
		MothershipNKey: pub, Readers: cfg.NATSReaders, LeafTLS: leafTLS, Cluster: cfg.Cluster, Log: log.With("component", "hub"),
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	nc, err := hub.Connect(kp, nats.Name("orbit-mothership"))
	if err != nil {
		hub.Shutdown()
		store.Close()
		return nil, err
	}
	m, err := mothership.New(mothership.Config{Store: store, Conn: nc, Hub: hub, Listen: cfg.Listen, APITLS: apiTLS, Replicas: max(cfg.Replicas, 1), DeletedRetention: cfg.DeletedRetention, UsageInterval: cfg.UsageInterval, RolloutInterval: cfg.RolloutInterval, SatelliteTTL: cfg.SatelliteTTL, ReplicaID: cfg.ReplicaID, LeaseTTL: cfg.LeaseTTL, CredentialKey: credKey, Log: log})
	if err != nil {
		nc.Close()
		hub.Shutdown()
		store.Close()
		return nil, err
	}
	return run(ctx, &ControlPlane{Hub: hub, Store: store, Mothership: m, Conn: nc, certs: certs, CredentialSender: publicCurveKey(credKey)})
}

// startClientControlPlane runs a mothership replica as a client of an existing hub.
func startClientControlPlane(ctx context.Context, cfg ControlPlaneConfig, store *db.Store, credKey nkeys.KeyPair, log *slog.Logger) (*ControlPlane, error) {
	kp, err := nkeys.FromSeed(cfg.NATSSeed)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("the mothership's NATS seed: %w", err)
	}
	// The API's certificate, reloaded like the embedded hub's (the hub nodes serve the
	// leaf-node listener and its TLS).
	var (
		certs  *leafnode.CertReloader
		apiTLS *tls.Config
	)
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if certs, err = leafnode.NewCertReloader(cfg.TLSCert, cfg.TLSKey, log); err != nil {
			store.Close()
			return nil, err
		}
		apiTLS, _ = certs.ServerConfig("")
	}
	nc, err := nats.Connect(cfg.NATSURL, leafnode.NKeyAuth(kp), nats.Name("orbit-mothership"), nats.MaxReconnects(-1))
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("connecting to the hub at %s: %w", cfg.NATSURL, err)
	}
	m, err := mothership.New(mothership.Config{Store: store, Conn: nc, Listen: cfg.Listen, APITLS: apiTLS, Replicas: max(cfg.Replicas, 1),
		RolloutInterval: cfg.RolloutInterval, SatelliteTTL: cfg.SatelliteTTL,
		DeletedRetention: cfg.DeletedRetention, UsageInterval: cfg.UsageInterval, ReplicaID: cfg.ReplicaID, LeaseTTL: cfg.LeaseTTL, CredentialKey: credKey, Log: log})
	if err != nil {
		nc.Close()
		store.Close()
		return nil, err
	}
	return run(ctx, &ControlPlane{Store: store, Mothership: m, Conn: nc, certs: certs, CredentialSender: publicCurveKey(credKey)})
}

// run runs cp's mothership and waits until every layer is up.
func run(ctx context.Context, cp *ControlPlane) (*ControlPlane, error) {
	runCtx, cancel := context.WithCancel(context.Background())
	cp.reload, cp.cancel, cp.done = make(chan struct{}, 1), cancel, make(chan error, 1)
	m, certs := cp.Mothership, cp.certs
	go func() { cp.done <- m.Run(runCtx) }()
	if certs != nil {
		go certs.Run(runCtx, 5*time.Second, cp.reload)
	}
	select {
	case <-m.Ready():
		return cp, nil
	case err := <-cp.done:
		cp.done <- err
		return nil, errors.Join(err, cp.Stop())
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), cp.Stop())
	}
}

// URL is the API's base URL.
func (cp *ControlPlane) URL() string {
	if cp.certs != nil {
		return "https://" + cp.Mothership.Addr()
	}
	return "http://" + cp.Mothership.Addr()
}

// ReloadCertificates has the TLS certificate files read again now (SIGHUP), rather than at
// the next poll.
func (cp *ControlPlane) ReloadCertificates() {
	select {
	case cp.reload <- struct{}{}:
	default:
	}
}

// Done reports the mothership's exit.
func (cp *ControlPlane) Done() <-chan error { return cp.done }

// Stop stops the mothership, then the hub and the store.
func (cp *ControlPlane) Stop() error {
	cp.cancel()
	err := <-cp.done
	cp.done <- err
	cp.Conn.Close()
	if cp.Hub != nil {
		cp.Hub.Shutdown()
	}
	return errors.Join(err, cp.Store.Close())
}

// Onboard grants a satellite access, reusing (or creating) its nkey seed under dir.
func (cp *ControlPlane) Onboard(ctx context.Context, name, region, cloud string, networks []string, dir string) ([]byte, error) {
	seed, pub, err := loadOrCreateSeed(filepath.Join(dir, "seed.nk"))
	if err != nil {
		return nil, err
	}
	_, curvePub, err := LoadOrCreateCurveSeed(filepath.Join(dir, CurveSeedFile))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, CredentialSenderFile), []byte(cp.CredentialSender+"\n"), 0o600); err != nil {
		return nil, err
	}
	err = cp.Mothership.OnboardSatellite(ctx, onboarding.SatelliteSpec{Name: name, Region: region, Cloud: cloud, Networks: networks,
		NKey: pub, CurveKey: curvePub})
	return seed, err
}

// CredentialSenderFile is the file in a satellite's directory that holds the control
// plane's public curve key, which Onboard writes and StartSatellite reads: the satellite
// opens only Kafka credentials sealed by it.
const CredentialSenderFile = "credential-sender.pub"

// publicCurveKey is kp's public half (an nkeys curve key pair always has one).
func publicCurveKey(kp nkeys.KeyPair) string {
	pub, _ := kp.PublicKey()
	return pub
}

// CurveSeedFile is the file in a satellite's directory that holds its curve key seed, which
// Onboard writes beside seed.nk and StartSatellite reads.
const CurveSeedFile = "curve.xk"

// LoadOrCreateCurveSeed keeps a satellite's curve key across restarts.
func LoadOrCreateCurveSeed(path string) ([]byte, string, error) {
	if seed, err := os.ReadFile(path); err == nil {
		kp, err := nkeys.FromCurveSeed(bytes.TrimSpace(seed))
		if err != nil {
			return nil, "", fmt.Errorf("%s: not an nkeys curve seed", path)
		}
		pub, err := kp.PublicKey()
		return bytes.TrimSpace(seed), pub, err
	}
	kp, err := nkeys.CreateCurveKeys()
	if err != nil {
		return nil, "", err
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		return nil, "", err
	}
	return seed, pub, nil
}

// loadOrCreateSeed keeps a satellite's identity across restarts.
func loadOrCreateSeed(path string) ([]byte, string, error) {
	if seed, err := os.ReadFile(path); err == nil {
		kp, err := nkeys.FromSeed(seed)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		pub, err := kp.PublicKey()
		return seed, pub, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", err
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		return nil, "", err
	}
	return seed, pub, nil
}

// SatelliteConfig configures an in-process satellite.
type SatelliteConfig struct {
	Name, Region, Cloud string
	Networks            []string
	Capacity            kv.Capacity
	// Dir holds the satellite's leaf-node store.
	Dir string
	// HubURLs are the hub's leaf-node URLs: one, or one per node of a hub cluster.
	HubURLs []string
	Seed    []byte
	// CurveSeed is the satellite's curve key seed; nil reads Dir/curve.xk when Onboard wrote
	// one there.
	CurveSeed []byte
	// CredentialSender is the control plane's public curve key; empty reads
	// Dir/credential-sender.pub when Onboard wrote it.
	CredentialSender string
	Version          string
	// Kubeconfig, if set, is a real cluster; otherwise a simulated one is used, whose
	// replicas become ready one per SimStep.
	Kubeconfig string
	SimStep    time.Duration
	// Sim, if set, is the simulated cluster to use (so that a restarted satellite finds
	// its objects again).
	Sim *simkube.Cluster
	// KafkaDial, if set, is how the satellite reaches Kafka on a real cluster whose brokers
	// a harness backs (tests/kubetest's RunKafka); the satellite then speaks Kafka.
	KafkaDial satellite.DialFunc
	// KafkaObserveEvery and Mitigation are passed to the satellite (tests shorten them).
	KafkaObserveEvery time.Duration
	Mitigation        satellite.MitigationConfig
	// OnDesired is passed to the satellite (measurements).
	OnDesired func(jetstream.KeyValueEntry)
	// KafkaNoReassign, DrainDeadline and KafkaHealthInterval are passed to the satellite
	// (see satellite.Config).
	KafkaNoReassign     bool
	DrainDeadline       time.Duration
	KafkaHealthInterval time.Duration
	// HubCA, if set, is the CA the hub's certificate must be signed by (the hub speaks TLS);
	// TLSCert and TLSKey are the satellite's client certificate, when the hub asks for one.
	HubCA, TLSCert, TLSKey string
	Log                    *slog.Logger
	// HeartbeatInterval: how often the satellite heartbeats (0: the default).
	HeartbeatInterval time.Duration
}

// SatelliteNode is a running in-process satellite.
type SatelliteNode struct {
	Satellite *satellite.Satellite
	// Sim is the simulated cluster, or nil on a real one.
	Sim *simkube.Cluster
	// Kafka is the Kafka-protocol harness behind the simulated cluster's brokers (nil on a
	// real cluster): each ready broker is a kfake node serving TLS and SCRAM on a loopback
	// address of its own.
	Kafka *simkafka.Fleet
	// Kube and Dynamic are the clients the satellite uses.
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface

	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

// StartSatellite starts a satellite (and its simulated cluster) and waits until it
// converges from its mirror.
func StartSatellite(ctx context.Context, cfg SatelliteConfig) (*SatelliteNode, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &SatelliteNode{Sim: cfg.Sim}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	switch {
	case cfg.Kubeconfig != "":
		rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		rc.UserAgent = satellite.UserAgent(cfg.Name)
		if n.Kube, err = kubernetes.NewForConfig(rc); err != nil {
			cancel()
			return nil, err
		}
		if n.Dynamic, err = dynamic.NewForConfig(rc); err != nil {
			cancel()
			return nil, err
		}
	default:
		if n.Sim == nil {
			step := cfg.SimStep
			if step <= 0 {
				step = 250 * time.Millisecond
			}
			n.Sim = simkube.New(step, log.With("component", "simkube"), satellite.CustomResources)
		}
		n.Kafka = kafkaHarness(n.Sim, log)
		n.Kube, n.Dynamic = n.Sim.Client, n.Sim.Dynamic
		n.wg.Add(1)
		go func() { defer n.wg.Done(); _ = n.Sim.Run(runCtx) }()
	}
	hubTLS, err := HubTLS(cfg.HubCA, cfg.TLSCert, cfg.TLSKey, log)
	if err != nil {
		cancel()
		n.wg.Wait()
		return nil, err
	}
	curveSeed, sender := cfg.CurveSeed, cfg.CredentialSender
	if curveSeed == nil {
		if b, err := os.ReadFile(filepath.Join(cfg.Dir, CurveSeedFile)); err == nil {
			curveSeed = bytes.TrimSpace(b)
		}
	}
	if sender == "" {
		if b, err := os.ReadFile(filepath.Join(cfg.Dir, CredentialSenderFile)); err == nil {
			sender = string(bytes.TrimSpace(b))
		}
	}
	sat, err := satellite.New(satellite.Config{HubTLS: hubTLS, CurveSeed: curveSeed, CredentialSender: sender,
		Name: cfg.Name, Region: cfg.Region, Cloud: cfg.Cloud, Networks: cfg.Networks, Capacity: cfg.Capacity,
		StoreDir: filepath.Join(cfg.Dir, "nats"), HubURLs: cfg.HubURLs, Seed: cfg.Seed, Kube: n.Kube, Dynamic: n.Dynamic,
		Simulated: cfg.Kubeconfig == "", Version: cfg.Version, LeafReconnect: 250 * time.Millisecond, Log: log,
		OnDesired: cfg.OnDesired, KafkaAdmin: n.Kafka != nil || cfg.KafkaDial != nil, KafkaDial: n.kafkaDial(cfg.KafkaDial),
		KafkaObserveEvery: cfg.KafkaObserveEvery, Mitigation: cfg.Mitigation,
		KafkaNoReassign: cfg.KafkaNoReassign, DrainDeadline: cfg.DrainDeadline, KafkaHealthInterval: cfg.KafkaHealthInterval,
		HeartbeatInterval: cfg.HeartbeatInterval,
	})
	if err != nil {
		cancel()
		n.wg.Wait()
		return nil, err
	}
	n.Satellite = sat
	done := make(chan struct{})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(done)
		if err := sat.Run(runCtx); err != nil {
			n.err = err
			log.Error("satellite stopped", "satellite", cfg.Name, "error", err)
		}
	}()
	select {
	case <-sat.Ready():
		return n, nil
	case <-done:
		cancel()
		n.wg.Wait()
		return nil, fmt.Errorf("satellite %s: %w", cfg.Name, n.err)
	case <-ctx.Done():
		cancel()
		n.wg.Wait()
		return nil, ctx.Err()
	}
}

// Stop stops the satellite (and its simulation).
func (n *SatelliteNode) Stop() error {
	n.cancel()
	n.wg.Wait()
	return n.err
}

// HubTLS is a satellite's TLS configuration towards the hub: verify it against caFile,
// and present certFile/keyFile (reloaded when they change) if given. No caFile: no TLS.
func HubTLS(caFile, certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	if caFile == "" {
		if certFile != "" || keyFile != "" {
			return nil, errors.New("a client certificate needs the hub's CA too")
		}
		return nil, nil
	}
	cfg, err := leafnode.ClientConfig(caFile)
	if err != nil {
		return nil, err
	}
	if certFile != "" || keyFile != "" {
		certs, err := leafnode.NewCertReloader(certFile, keyFile, log)
		if err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(i *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			_, _ = certs.Reload() // cheap: unchanged files are not parsed again
			return certs.GetClientCertificate(i)
		}
	}
	return cfg, nil
}

// FreePort returns host:port with a port that was free a moment ago, for listeners that
// must keep their address across restarts.
func FreePort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// kafkaHarness puts a Kafka-protocol harness behind sim's brokers (once: a restarted
// satellite finds the one its simulated cluster already has). Brokers advertise their
// loopback addresses, since nothing on this machine resolves the satellite's domain.
func kafkaHarness(sim *simkube.Cluster, log *slog.Logger) *simkafka.Fleet {
	if k, ok := sim.Hook.(*simkafka.Kube); ok {
		return k.Fleet
	}
	fleet := simkafka.NewFleet(log.With("component", "simkafka"))
	sim.Hook = &simkafka.Kube{Client: sim.Client, Fleet: fleet, AdvertiseAddresses: true, Log: log.With("component", "simkafka")}
	return fleet
}

// kafkaDial is how the satellite reaches its Kafka clusters: as configured, else through
// the harness on a simulated cluster, else over the network.
func (n *SatelliteNode) kafkaDial(configured satellite.DialFunc) satellite.DialFunc {
	if configured != nil || n.Kafka == nil {
		return configured
	}
	return n.Kafka.DialContext
}
