package simkafka

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Interceptor sees a request that broker node received, before kfake handles it. Returning
// handled answers the client with resp (or, with an error, closes its connection) and
// skips kfake; otherwise the next interceptor of the key runs, and finally kfake. It runs
// on kfake's request loop: it must not start or stop brokers, and must be quick.
type Interceptor func(node int32, req kmsg.Request) (resp kmsg.Response, err error, handled bool)

// dispatcher is a cluster's one kfake control function per request key, running the
// interceptors registered for that key in order. It outlives no kfake cluster but may be
// filled before one exists: attach installs what was registered.
type dispatcher struct {
	mu    sync.Mutex
	kafka *kfake.Cluster
	chain map[int16][]Interceptor
}

func newDispatcher() *dispatcher { return &dispatcher{chain: map[int16][]Interceptor{}} }

// Intercept runs fn on every request with the given key (kmsg.Key) that any of the cluster's
// nodes receives, after the interceptors registered before it.
func (c *Cluster) Intercept(key int16, fn Interceptor) { c.control.add(key, fn) }

func (d *dispatcher) add(key int16, fn Interceptor) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.chain[key] = append(d.chain[key], fn)
	if len(d.chain[key]) == 1 && d.kafka != nil {
		d.install(key)
	}
}

func (d *dispatcher) attach(k *kfake.Cluster) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kafka = k
	for key := range d.chain {
		d.install(key)
	}
}

// install registers the key's control function with kfake; d.mu is held.
func (d *dispatcher) install(key int16) {
	k := d.kafka
	k.ControlKey(key, func(req kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		node := k.CurrentNode()
		d.mu.Lock()
		chain := d.chain[key]
		d.mu.Unlock()
		for _, fn := range chain {
			if resp, err, handled := fn(node, req); handled {
				return resp, err, true
			}
		}
		return nil, nil, false
	})
}

// interceptKeystoreReloads watches for what makes a Kafka broker reload its keystore: an
// AlterConfigs or IncrementalAlterConfigs request on the broker's own resource that sets a
// keystore config (ssl.keystore.location re-set to the same path, or the PEM
// ssl.keystore.certificate.chain / ssl.keystore.key), plain or under listener.name.<l>.
// The broker then serves the certificate the Secret holds now. A Secret that changes with
// no such request changes nothing the broker serves.
func (c *Cluster) interceptKeystoreReloads() {
	// reload reloads the receiving broker's keystore if the request names its resource.
	reload := func(node int32, resources []string, validateOnly bool) error {
		if validateOnly || !slices.Contains(resources, strconv.Itoa(int(node))) {
			return nil // kfake answers: a dry run, or a resource of another broker (refused)
		}
		b := c.byNode(node)
		if b == nil {
			return nil
		}
		b.mu.Lock()
		b.reloadRequested = time.Now()
		b.reloads++
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keystore, err := c.cfg.Secrets.Keystore(ctx)
		if err == nil {
			err = b.load(keystore)
		}
		if err != nil {
			c.log.Warn("simkafka: keystore reload failed", "node", node, "error", err)
			return err
		}
		c.log.Debug("simkafka: keystore reloaded", "node", node, "serial", b.snapshot().CertSerial)
		return nil
	}
	fail := func(req kmsg.Request, err error) (kmsg.Response, error, bool) {
		msg := err.Error()
		switch r := req.(type) {
		case *kmsg.IncrementalAlterConfigsRequest:
			resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
			for _, rr := range r.Resources {
				e := kmsg.NewIncrementalAlterConfigsResponseResource()
				e.ResourceType, e.ResourceName, e.ErrorCode, e.ErrorMessage = rr.ResourceType, rr.ResourceName, kerr.InvalidConfig.Code, &msg
				resp.Resources = append(resp.Resources, e)
			}
			return resp, nil, true
		case *kmsg.AlterConfigsRequest:
			resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
			for _, rr := range r.Resources {
				e := kmsg.NewAlterConfigsResponseResource()
				e.ResourceType, e.ResourceName, e.ErrorCode, e.ErrorMessage = rr.ResourceType, rr.ResourceName, kerr.InvalidConfig.Code, &msg
				resp.Resources = append(resp.Resources, e)
			}
			return resp, nil, true
		}
		return nil, nil, false
	}
	c.Intercept(kmsg.IncrementalAlterConfigs.Int16(), func(node int32, req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.IncrementalAlterConfigsRequest)
		var names []string
		for _, rr := range r.Resources {
			if rr.ResourceType != kmsg.ConfigResourceTypeBroker {
				continue
			}
			for _, cfg := range rr.Configs {
				if cfg.Op == kmsg.IncrementalAlterConfigOpSet && isKeystoreConfig(cfg.Name) {
					names = append(names, rr.ResourceName)
				}
			}
		}
		if len(names) == 0 {
			return nil, nil, false
		}
		if err := reload(node, names, r.ValidateOnly); err != nil {
			return fail(req, err)
		}
		return nil, nil, false
	})
	c.Intercept(kmsg.AlterConfigs.Int16(), func(node int32, req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.AlterConfigsRequest)
		var names []string
		for _, rr := range r.Resources {
			if rr.ResourceType != kmsg.ConfigResourceTypeBroker {
				continue
			}
			for _, cfg := range rr.Configs {
				if isKeystoreConfig(cfg.Name) {
					names = append(names, rr.ResourceName)
				}
			}
		}
		if len(names) == 0 {
			return nil, nil, false
		}
		if err := reload(node, names, r.ValidateOnly); err != nil {
			return fail(req, err)
		}
		return nil, nil, false
	})
}

// keystoreConfigs are the broker configs whose update reloads the keystore.
var keystoreConfigs = []string{"ssl.keystore.location", "ssl.keystore.certificate.chain", "ssl.keystore.key"}

func isKeystoreConfig(name string) bool {
	if rest, ok := strings.CutPrefix(name, "listener.name."); ok {
		_, name, ok = strings.Cut(rest, ".")
		if !ok {
			return false
		}
	}
	return slices.Contains(keystoreConfigs, name)
}
