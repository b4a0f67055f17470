package satellite

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// Config configures a satellite.
type Config struct {
	// Name is the satellite's name: its key prefix and its leaf node's JetStream domain.
	Name     string
	Region   string
	Cloud    string
	Networks []string
	Capacity kv.Capacity
	// StoreDir holds the leaf node's JetStream data (the mirror of desired keys).
	StoreDir string
	// HubURLs are the hub's leaf-node URLs.
	HubURLs []string
	// Seed is the satellite's user nkey seed.
	Seed []byte
	// CurveSeed is the satellite's curve key seed (nkeys, SX…), minted at onboarding beside
	// Seed: the API key credentials (Kafka, ksqlDB, Connect) the mothership publishes for
	// this satellite are sealed to its public half. Without it the satellite cannot open
	// them.
	CurveSeed []byte
	// CredentialSender is the control plane's public curve key (nkeys, X…), given at
	// onboarding: the satellite opens only credentials sealed by it (required with
	// CurveSeed). Every mothership replica seals with the same key (--credential-key).
	CredentialSender string
	// HubTLS, if set, is how the hub's certificate is verified (and the client certificate
	// presented): the hub URLs then speak TLS.
	HubTLS *tls.Config
	// Kube and Dynamic are the Kubernetes the satellite converges.
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Domain is the DNS zone of the data plane's public names (default
	// <region>.orbit.local).
	Domain string
	// Image is the satellite's own image: the Kafka pods' init container runs it
	// (`satellite rack`). Default ghcr.io/orbitcp/satellite:<Version>.
	Image string
	// KafkaAdmin makes the satellite speak the Kafka protocol to its Kafka clusters (as
	// their super user, trusting only each cluster's CA): certificate reloads now. Off, the
	// satellite converges Kubernetes only (tests and dev mode without a Kafka harness).
	KafkaAdmin bool
	// KafkaDial, if set, dials Kafka addresses instead of the network (a harness maps the
	// advertised names to its listeners).
	KafkaDial DialFunc
	// Mitigation tunes the automated mitigation detectors (zero: the defaults);
	// Rebalancer, if set, is what they ask to move replicas.
	Mitigation MitigationConfig
	Rebalancer Rebalancer
	// KafkaObserveEvery is how often a healthy Kafka cluster is read again through Kafka
	// (what it holds, for metering; the mitigation detectors); zero: every minute.
	KafkaObserveEvery time.Duration
	// KafkaNoReassign turns off moving replicas on resizes (no rebalance after a
	// scale-up, no drain before a scale-down): a negative control for tests only.
	KafkaNoReassign bool
	// DrainDeadline is how long a scale-down's drain may wait on reassignments before it
	// is held (default 10 minutes).
	DrainDeadline time.Duration
	// KafkaHealthInterval is how often each Kafka cluster's health is read from Kafka
	// (default 30s).
	KafkaHealthInterval time.Duration
	// Simulated is announced in the registration (dev mode's simulated Kubernetes).
	Simulated bool
	// Version is announced in the registration.
	Version string
	// Workers is the number of clusters converged in parallel (default 4).
	Workers int
	// HeartbeatInterval is how often the registration is refreshed (default 10s).
	HeartbeatInterval time.Duration
	// CredentialsHold is, after a new hub (a restored mothership), how long the rebuilt
	// credentials mirror at least only adds users, deleting none missing from it, before it
	// may count as complete (then also caught up with the hub): the time the restored
	// mothership takes to lead and republish every key (default 2m).
	CredentialsHold time.Duration
	// LeafReconnect is how long the leaf waits between attempts to reach the hub.
	LeafReconnect time.Duration
	// Coalesce is how long a change of a desired key waits before it is applied, so that a
	// burst of changes (2 → 4 → 2 → 6 CKUs) is applied as its last state (default 100ms).
	Coalesce time.Duration
	// OnDesired, if set, is called with every desired value as it reaches the local mirror
	// (for measurements; it must not block).
	OnDesired func(jetstream.KeyValueEntry)
	Log       *slog.Logger
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	reg := kv.Satellite{SchemaVersion: kv.SchemaVersion, Name: c.Name, Region: c.Region, Cloud: c.Cloud,
		Networks: c.Networks, Capacity: c.Capacity, HeartbeatAt: time.Now()}
	if err := reg.Validate(); err != nil {
		return fmt.Errorf("satellite: %w", err)
	}
	if c.Kube == nil || c.Dynamic == nil {
		return errors.New("satellite: Kubernetes clients are required")
	}
	if len(c.CurveSeed) > 0 {
		if _, err := nkeys.FromCurveSeed(c.CurveSeed); err != nil {
			return errors.New("satellite: the curve seed is not an nkeys curve seed")
		}
		if err := kv.ValidateCurvePublicKey("credentialSender", c.CredentialSender); err != nil {
			return fmt.Errorf("satellite: the control plane's public curve key, which seals API key credentials: %w", err)
		}
	}
	return nil
}

// UserAgent identifies a satellite's requests to its Kubernetes API server.
func UserAgent(name string) string { return "orbit-satellite/" + name }

// Satellite is a running satellite.
type Satellite struct {
	cfg       Config
	log       *slog.Logger
	ready     chan struct{}
	readyOnce sync.Once

	mu          sync.Mutex
	leaf        *leafnode.Leaf
	pub         *publisher
	desired     jetstream.KeyValue
	credentials jetstream.KeyValue
}

// New returns a satellite; Run starts it.
func New(cfg Config) (*Satellite, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = 100 * time.Millisecond
	}
	if cfg.Domain == "" {
		cfg.Domain = cfg.Region + ".orbit.local"
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.CredentialsHold <= 0 {
		cfg.CredentialsHold = defaultCredentialsHold
	}
	if cfg.Image == "" {
		cfg.Image = defaultImage
		if cfg.Version != "" && cfg.Version != "dev" {
			cfg.Image = "ghcr.io/orbitcp/satellite:" + cfg.Version
		}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Satellite{cfg: cfg, log: log.With("satellite", cfg.Name), ready: make(chan struct{})}, nil
}

// Ready is closed once the satellite converges from its mirror.
func (s *Satellite) Ready() <-chan struct{} { return s.ready }

// HubConnected reports whether the leaf node is connected to the hub.
func (s *Satellite) HubConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leaf != nil && s.leaf.HubConnected()
}

// HubAddr is the address of the hub node the leaf node is connected to ("" when none).
func (s *Satellite) HubAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaf == nil {
		return ""
	}
	return s.leaf.HubAddr()
}

// DesiredKeys lists the keys of the satellite's local mirror: everything of the desired
// state the satellite holds.
func (s *Satellite) DesiredKeys(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	b := s.desired
	s.mu.Unlock()
	return mirrorKeys(ctx, b)
}

// CredentialKeys lists the keys of the satellite's local credentials mirror.
func (s *Satellite) CredentialKeys(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	b := s.credentials
	s.mu.Unlock()
	return mirrorKeys(ctx, b)
}

func mirrorKeys(ctx context.Context, b jetstream.KeyValue) ([]string, error) {
	if b == nil {
		return nil, errors.New("satellite: not running")
	}
	keys, err := b.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	return keys, err
}

// PendingStatuses reports how many statuses wait for the hub.
func (s *Satellite) PendingStatuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		return 0
	}
	return s.pub.Pending()
}

// Run starts the leaf node and converges until ctx ends.
func (s *Satellite) Run(ctx context.Context) error {
	link, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer link.close()
	if err := InstallCRD(ctx, s.cfg.Dynamic); err != nil {
		return err
	}
	l, err := s.startLoops(ctx, link)
	if err != nil {
		return err
	}
	defer l.shutdown()
	watcher, err := link.desired.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("satellite: watching desired: %w", err)
	}
	defer watcher.Stop()

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return link.pub.Run(ctx) })
	g.Go(func() error { s.reportLink(ctx, link); return nil })
	newHub, newHubDesired, newHubCredentials := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	g.Go(func() error { return s.heartbeat(ctx, link.js, link.pub, link.leaf.HubConnected, newHub) })
	g.Go(func() error { fanOut(ctx, newHub, newHubDesired, newHubCredentials); return nil })
	g.Go(func() error { return s.followDesired(ctx, link, watcher, l.syncQueue, newHubDesired) })
	if l.op.credentials != nil {
		credWatcher, err := link.credentials.WatchAll(ctx)
		if err != nil {
			return fmt.Errorf("satellite: watching credentials: %w", err)
		}
		g.Go(func() error {
			return s.followCredentials(ctx, link, credWatcher, l.op, l.opQueue.Add, newHubCredentials)
		})
	}
	for range s.cfg.Workers {
		g.Go(func() error { work(ctx, s.cfg.Name, "sync", l.syncQueue, l.sync.reconcile, s.log); return nil })
		g.Go(func() error { work(ctx, s.cfg.Name, "operator", l.opQueue, l.op.reconcile, s.log); return nil })
	}
	g.Go(func() error {
		<-ctx.Done()
		l.shutdown()
		return nil
	})
	return g.Wait()
}

// hubLink is the satellite's side of NATS: its leaf node, a connection to it, and the
// desired mirror and the actual-state publisher over it.
type hubLink struct {
	leaf        *leafnode.Leaf
	nc          *nats.Conn
	js          jetstream.JetStream
	desired     jetstream.KeyValue
	credentials jetstream.KeyValue
	pub         *publisher
}

func (l *hubLink) close() {
	l.nc.Close()
	l.leaf.Shutdown()
}

// connect starts the leaf node and opens the desired mirror.
func (s *Satellite) connect(ctx context.Context) (*hubLink, error) {
	cfg := s.cfg
	leaf, err := leafnode.StartLeaf(leafnode.LeafConfig{
		Satellite: cfg.Name, StoreDir: cfg.StoreDir, HubURLs: cfg.HubURLs, Seed: cfg.Seed, HubTLS: cfg.HubTLS,
		ReconnectInterval: cfg.LeafReconnect, Log: s.log.With("component", "leafnode"),
	})
	if err != nil {
		return nil, err
	}
	link := &hubLink{leaf: leaf}
	if link.nc, err = leaf.Connect(nats.Name("orbit-satellite-" + cfg.Name)); err != nil {
		leaf.Shutdown()
		return nil, fmt.Errorf("satellite: connecting to the leaf node: %w", err)
	}
	if link.js, err = jetstream.New(link.nc); err == nil {
		link.desired, err = s.openMirror(ctx, link.nc, link.js, kv.BucketDesired)
	}
	if err == nil {
		link.credentials, err = s.openMirror(ctx, link.nc, link.js, kv.BucketCredentials)
	}
	if err != nil {
		link.close()
		return nil, err
	}
	link.pub = newPublisher(link.js, s.log)
	s.mu.Lock()
	s.leaf, s.pub, s.desired, s.credentials = leaf, link.pub, link.desired, link.credentials
	s.mu.Unlock()
	return link, nil
}

// loops are the two reconcile loops: desired → PSC (sync) and PSC → objects (operator).
type loops struct {
	syncQueue, opQueue workqueue.TypedRateLimitingInterface[string]
	sync               *syncer
	op                 *operator
	stopOnce           sync.Once
}

func (l *loops) shutdown() {
	l.stopOnce.Do(func() {
		l.syncQueue.ShutDown()
		l.opQueue.ShutDown()
		if l.op.kafka != nil {
			l.op.kafka.closeAll()
		}
	})
}

func (s *Satellite) startLoops(ctx context.Context, link *hubLink) (*loops, error) {
	cfg := s.cfg
	k := newKube(cfg.Kube, cfg.Dynamic, cfg.Name)
	rep := newReporter(link.pub)
	newQueue := func(name string) workqueue.TypedRateLimitingInterface[string] {
		return workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name, MetricsProvider: metrics.Workqueue(cfg.Name)})
	}
	l := &loops{syncQueue: newQueue("sync"), opQueue: newQueue("operator")}
	l.sync = &syncer{satellite: cfg.Name, desired: link.desired, kube: k, reporter: rep, log: s.log, operate: l.opQueue.Add}
	l.op = &operator{satellite: cfg.Name, kube: k, render: &renderer{satellite: cfg.Name, domain: cfg.Domain, image: cfg.Image, kube: k},
		reporter: rep, log: s.log, after: l.opQueue.AddAfter, reportAddresses: cfg.Simulated}
	if cfg.KafkaAdmin {
		l.op.kafka = newKafkaAdmins(cfg.KafkaDial, s.log.With("component", "kafka"))
		l.op.kafka.satellite = cfg.Name
		l.op.observeEvery = cfg.KafkaObserveEvery
		l.op.healthInterval = cfg.KafkaHealthInterval
		if l.op.healthInterval <= 0 {
			l.op.healthInterval = 30 * time.Second
		}
		rebalancer := cfg.Rebalancer
		if !cfg.KafkaNoReassign {
			l.op.rebalance = newRebalancer(cfg.DrainDeadline)
			l.op.render.drain = l.op.rebalance
			if rebalancer == nil {
				rebalancer = balanceNow(l.opQueue.AddAfter)
			}
		}
		l.op.mitigation = newMitigator(cfg.Mitigation, rebalancer)
	}
	// Credentials serve Kafka's SCRAM users (with the Kafka admin client) and the ksqlDB and
	// Connect REST users files (Kubernetes only).
	if len(cfg.CurveSeed) > 0 {
		curve, err := nkeys.FromCurveSeed(cfg.CurveSeed)
		if err != nil {
			return nil, errors.New("satellite: the curve seed is not an nkeys curve seed")
		}
		l.op.credentials, l.op.curve, l.op.sender = link.credentials, curve, cfg.CredentialSender
		marker := ""
		if cfg.StoreDir != "" {
			marker = filepath.Join(cfg.StoreDir, "credentials-rebuild")
		}
		l.op.credentialHold = newCredentialHold(cfg.CredentialsHold, link.credentials, marker, time.Now, s.log)
	}
	err := k.onChange(l.opQueue.Add, func(o *PSCObject) {
		l.opQueue.Add(o.Name)
		if o.Spec.Kafka != nil {
			l.opQueue.Add(o.Spec.Kafka.ID) // the Kafka cluster gives a ksqlDB or Connect cluster its ACLs
		}
		l.syncQueue.Add(o.key().String()) // a PSC edited by hand is put back
	})
	if err == nil {
		err = k.start(ctx)
	}
	if err != nil {
		l.shutdown()
		return nil, err
	}
	return l, nil
}

// followDesired queues every change of the desired mirror for the sync loop. When the
// heartbeat finds a new hub (newHub), it starts the mirror over (remirror) and follows the
// new one: every key comes again, and the sync loop applies only what differs.
func (s *Satellite) followDesired(ctx context.Context, link *hubLink, watcher jetstream.KeyWatcher, queue workqueue.TypedRateLimitingInterface[string], newHub <-chan struct{}) error {
	defer func() { _ = watcher.Stop() }() // the one followed last
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-newHub:
			_ = watcher.Stop()
			w, err := s.remirror(ctx, link, kv.BucketDesired)
			if err != nil {
				return nil // ctx ended
			}
			watcher = w
		case e, ok := <-watcher.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				s.log.Info("satellite converging from its mirror")
				s.readyOnce.Do(func() { close(s.ready) })
				continue
			}
			if s.cfg.OnDesired != nil {
				s.cfg.OnDesired(e)
			}
			// A delayed add coalesces: a key already waiting keeps its place, and the
			// reconcile reads whatever the latest value is by then.
			queue.AddAfter(e.Key(), s.cfg.Coalesce)
		}
	}
}

// fanOut passes each signal of in to every out, dropping it for an out that still holds one.
func fanOut(ctx context.Context, in <-chan struct{}, outs ...chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-in:
			for _, out := range outs {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}
}

// remirror starts the local mirror of bucket over from a new hub and watches it, retrying
// until it succeeds or ctx ends. A mirror keeps the stream sequence of the last message it
// took and ignores any message at or below it, so the mirror of an older hub would ignore a
// new hub's values until its sequences grew past the old ones. The local stream is deleted
// and created again from the first message of the hub (openMirror rewinds the satellite's
// consumer there). Meanwhile the Kubernetes objects stay as they are: a key missing from the
// mirror is never a request to delete.
func (s *Satellite) remirror(ctx context.Context, link *hubLink, bucket string) (jetstream.KeyWatcher, error) {
	for {
		err := link.js.DeleteStream(ctx, kv.StreamName(bucket))
		if err == nil || errors.Is(err, jetstream.ErrStreamNotFound) {
			var b jetstream.KeyValue
			if b, err = s.openMirror(ctx, link.nc, link.js, bucket); err == nil {
				var w jetstream.KeyWatcher
				if w, err = b.WatchAll(ctx); err == nil {
					s.log.Info("mirroring the new hub", "bucket", bucket)
					return w, nil
				}
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Warn("starting the mirror over failed, will retry", "bucket", bucket, "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// work runs reconcile on queued keys until the queue shuts down; failures retry with
// backoff.
func work(ctx context.Context, satellite, loop string, q workqueue.TypedRateLimitingInterface[string], reconcile func(context.Context, string) error, log *slog.Logger) {
	for {
		key, shutdown := q.Get()
		if shutdown {
			return
		}
		start := time.Now()
		err := reconcile(ctx, key)
		metrics.ObserveReconcile(satellite, loop, time.Since(start), err)
		if err != nil && ctx.Err() == nil {
			log.Warn("reconcile failed, will retry", "key", key, "error", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

// openMirror makes sure the local bucket (desired, credentials) exists as a mirror of this
// satellite's keys. On a fresh store it first rewinds the satellite's durable consumer on
// the hub to the beginning, so a satellite that lost its disk gets every key again; that
// needs the hub, and there is nothing to converge without it anyway.
func (s *Satellite) openMirror(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, bucket string) (jetstream.KeyValue, error) {
	cfg := kv.Mirror(bucket, s.cfg.Name)
	_, err := js.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if err := rewindConsumer(ctx, nc, bucket, s.cfg.Name, s.log); err != nil {
			return nil, err
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("satellite: creating the %s mirror: %w", bucket, err)
		}
	case err != nil:
		return nil, fmt.Errorf("satellite: %s mirror: %w", bucket, err)
	default:
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("satellite: updating the %s mirror: %w", bucket, err)
		}
	}
	return js.KeyValue(ctx, bucket)
}

// RewindDesiredConsumer asks the hub to deliver a satellite's desired keys again from the
// start, retrying until the hub answers: what a satellite with an empty store does before it
// creates its mirror.
func RewindDesiredConsumer(ctx context.Context, nc *nats.Conn, satellite string, log *slog.Logger) error {
	return rewindConsumer(ctx, nc, kv.BucketDesired, satellite, log)
}

func rewindConsumer(ctx context.Context, nc *nats.Conn, bucket, satellite string, log *slog.Logger) error {
	subject := kv.MirrorConsumerResetSubject(bucket, satellite)
	body, _ := json.Marshal(map[string]uint64{"seq": 1})
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := nc.RequestWithContext(rctx, subject, body)
		cancel()
		if err == nil {
			var resp struct {
				Error *struct {
					Description string `json:"description"`
				} `json:"error"`
			}
			if jerr := json.Unmarshal(msg.Data, &resp); jerr == nil && resp.Error == nil {
				return nil
			} else if jerr == nil {
				err = errors.New(resp.Error.Description)
			} else {
				err = jerr
			}
		}
		if attempt%50 == 49 { // every 5 s
			log.Info("waiting for the hub to set up a fresh mirror", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// heartbeat keeps the satellite's registration fresh, and right after the leaf (re)connects
// to the hub. It also notices a hub whose state is not the one the satellite wrote to — a
// mothership restored from a backup onto a fresh hub, or a hub rebuilt empty: each
// heartbeat expects the hub to hold the previous one as the last value of the satellite's
// own key (the satellite is that key's only writer), and the hub refuses it when it does
// not. The satellite then has every status reported again, since the new hub's actual
// bucket lacks them, tells newHub (the desired mirror must start over: it would ignore the
// new hub's lower stream sequences; so must the credentials mirror), and registers afresh. A hub that holds a later
// heartbeat than the last one acknowledged (an acknowledgement was lost) is the same hub.
func (s *Satellite) heartbeat(ctx context.Context, js jetstream.JetStream, pub *publisher, connected func() bool, newHub chan<- struct{}) error {
	var lastSeq uint64
	started := time.Now().UTC()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	link := time.NewTicker(time.Second)
	defer link.Stop()
	wasConnected := connected()
	for {
		reg := &kv.Satellite{
			SchemaVersion: kv.SchemaVersion, Name: s.cfg.Name, Region: s.cfg.Region, Cloud: s.cfg.Cloud,
			Networks: s.cfg.Networks, Capacity: s.cfg.Capacity, Version: s.cfg.Version, Simulated: s.cfg.Simulated,
			StartedAt: started, HeartbeatAt: time.Now().UTC(),
		}
		data, err := kv.Encode(reg)
		if err != nil {
			return err
		}
		var opts []jetstream.PublishOpt
		if lastSeq > 0 {
			opts = append(opts, jetstream.WithExpectLastSequencePerSubject(lastSeq))
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := js.Publish(pctx, kv.HubPutSubject(kv.BucketSatellites, s.cfg.Name), data, opts...)
		cancel()
		holds, wrong := wrongLastSequence(err)
		switch {
		case wrong && holds > lastSeq:
			// The hub stored a heartbeat whose acknowledgement was lost: the same hub.
			lastSeq = holds
			continue
		case wrong:
			s.log.Info("the hub does not hold this satellite's last heartbeat (restored or rebuilt): reporting every status again and mirroring its desired state afresh", "last_sequence", lastSeq)
			pub.resendAll()
			select {
			case newHub <- struct{}{}:
			default:
			}
			lastSeq = 0
			continue // register on the new hub now
		case err != nil && ctx.Err() == nil:
			s.log.Debug("heartbeat not delivered", "error", err)
		case err == nil:
			lastSeq = ack.Sequence
		}
		for beat := false; !beat; {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				beat = true
			case <-link.C:
				now := connected()
				beat = now && !wasConnected
				wasConnected = now
			}
		}
	}
}

// wrongLastSequence tells whether err is the hub refusing a publish whose expected last
// sequence of the subject does not hold and, when the hub says (a stream of one replica),
// the subject's last sequence it holds.
func wrongLastSequence(err error) (holds uint64, wrong bool) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return 0, false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeStreamWrongLastSequence:
		// "wrong last sequence: <seq>"
		_, seq, _ := strings.Cut(apiErr.Description, ":")
		holds, _ = strconv.ParseUint(strings.TrimSpace(seq), 10, 64)
		return holds, true
	case jetstream.JSErrCodeStreamWrongLastSequenceConstant:
		return 0, true
	}
	return 0, false
}

// reportLink keeps the hub link and desired mirror gauges current until ctx ends.
func (s *Satellite) reportLink(ctx context.Context, link *hubLink) {
	connected := metrics.HubConnected.WithLabelValues(s.cfg.Name)
	lagRevisions := metrics.MirrorLagRevisions.WithLabelValues(s.cfg.Name)
	lagSeconds := metrics.MirrorLagSeconds.WithLabelValues(s.cfg.Name)
	caughtUp := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if link.leaf.HubConnected() {
			connected.Set(1)
		} else {
			connected.Set(0)
		}
		ictx, cancel := context.WithTimeout(ctx, time.Second)
		info, err := link.desired.Status(ictx)
		cancel()
		if err == nil {
			if m := mirrorInfo(info); m != nil {
				lagRevisions.Set(float64(m.Lag))
				// Caught up: nothing left to copy, and the hub was heard from recently.
				if m.Lag == 0 && m.Active >= 0 && m.Active < mirrorFresh && link.leaf.HubConnected() {
					caughtUp = time.Now()
				}
			}
		}
		lagSeconds.Set(time.Since(caughtUp).Seconds())
		select {
		case <-ctx.Done():
			metrics.HubConnected.DeleteLabelValues(s.cfg.Name)
			return
		case <-t.C:
		}
	}
}

// mirrorFresh is how recently a mirror must have heard from the hub to count as caught up.
const mirrorFresh = 10 * time.Second

// mirrorInfo is the mirror's state in a bucket's status.
func mirrorInfo(st jetstream.KeyValueStatus) *jetstream.StreamSourceInfo {
	if kvs, ok := st.(*jetstream.KeyValueBucketStatus); ok && kvs.StreamInfo() != nil {
		return kvs.StreamInfo().Mirror
	}
	return nil
}

// MetricsHandler serves the satellite's Prometheus metrics (/metrics): those of every
// satellite running in this process.
func MetricsHandler() http.Handler { return metrics.Handler() }
