package kafkaconf

//go:generate go run ./gen -o keys_gen.go

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// ErrUnsupportedVersion is wrapped by every error about a Kafka version this package has no
// table for.
var ErrUnsupportedVersion = errors.New("unsupported Kafka version")

// KeyError is a configuration key that may not be used, and why.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("%q: %s", e.Key, e.Reason) }

// Supported returns the supported Kafka versions, MAJOR.MINOR, oldest first.
func Supported() []string {
	vs := make([]string, 0, len(generated))
	for v := range generated {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return versionLess(vs[i], vs[j]) })
	return vs
}

// versionLess orders MAJOR.MINOR strings numerically ("3.10" after "3.9").
func versionLess(a, b string) bool {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	return am < bm || am == bm && an < bn
}

var versionRE = regexp.MustCompile(`^([0-9]+)\.([0-9]+)(\.[0-9]+)?$`)

// VersionOf maps a Kafka version, MAJOR.MINOR or MAJOR.MINOR.PATCH ("3.9.0"), to the
// supported MAJOR.MINOR it belongs to. Any other version is an error wrapping
// ErrUnsupportedVersion that names the supported ones.
func VersionOf(v string) (string, error) {
	m := versionRE.FindStringSubmatch(v)
	if m != nil {
		if mm := m[1] + "." + m[2]; generated[mm] != nil {
			return mm, nil
		}
	}
	return "", fmt.Errorf("%w %q (supported: %s)", ErrUnsupportedVersion, v, strings.Join(Supported(), ", "))
}

// Known reports whether Kafka version (as VersionOf accepts it) defines key for a KRaft
// broker or controller: a key of its KafkaConfig or StandardAuthorizer, or a pattern Kafka
// reads (listener.name.<listener>.<security key>, config.providers.*). Keys Kafka defines
// as internal, ZooKeeper-only keys and keys of an unsupported version are not known.
func Known(version, key string) bool {
	return unknown(version, key) == ""
}

// unknown returns why key is not known to version, or "" if it is.
func unknown(version, key string) string {
	v, err := VersionOf(version)
	if err != nil {
		return err.Error()
	}
	keys := generated[v]
	if def, ok := keys[key]; ok {
		if strings.HasPrefix(def, "internal: ") {
			return "defined by Kafka " + v + " only as an internal setting"
		}
		return ""
	}
	if _, ok := listenerKey(v, key); ok {
		return ""
	}
	if configProviderRE.MatchString(key) {
		return ""
	}
	if why, ok := notServerKeys[key]; ok {
		return why
	}
	for _, other := range Supported() {
		if _, ok := generated[other][key]; ok {
			if versionLess(other, v) {
				return fmt.Sprintf("defined up to Kafka %s, removed by %s", other, v)
			}
			return fmt.Sprintf("not defined by Kafka %s (defined from %s)", v, other)
		}
	}
	return "not defined by Kafka " + v
}

// notServerKeys are keys commonly written into server properties that a KRaft server does
// not define, with the reason.
var notServerKeys = map[string]string{
	"cluster.id":                  "not a server property: KRaft takes the cluster id when the storage is formatted (kafka-storage format --cluster-id)",
	"zookeeper.connect":           "ZooKeeper-only: KRaft has no ZooKeeper",
	"control.plane.listener.name": "ZooKeeper-only: rejected in KRaft mode",
	"broker.id.generation.enable": "ZooKeeper-only",
	"reserved.broker.max.id":      "ZooKeeper-only",
	"password.encoder.secret":     "ZooKeeper-only: KRaft does not encode dynamic passwords",
	"zookeeper.set.acl":           "ZooKeeper-only: KRaft has no ZooKeeper",
	"message.format.version":      "a topic configuration, not a server property",
}

// configProviderRE matches AbstractConfig's config provider keys (KIP-297), which every
// Kafka configuration accepts.
var configProviderRE = regexp.MustCompile(`^config\.providers(\.[A-Za-z0-9_-]+\.(class|param\.[^\s]+))?$`)

// Listener-prefixed keys (KafkaConfig: ListenerName.configPrefix is "listener.name." and
// the listener name in lower case):
//
//	listener.name.<listener>.<ssl.* or sasl.* key, connections.max.reauth.ms, ...>
//	listener.name.<listener>.<sasl mechanism, lower case>.sasl.jaas.config (and the
//	    other per-mechanism SASL keys of KIP-394/KIP-368)
var (
	listenerKeyRE   = regexp.MustCompile(`^listener\.name\.([a-z0-9_-]+)\.((?:ssl|sasl)\..+|connections\.max\.reauth\.ms|max\.connections|max\.connection\.creation\.rate|principal\.builder\.class)$`)
	mechanismKeyRE  = regexp.MustCompile(`^listener\.name\.([a-z0-9_-]+)\.([a-z0-9-]+)\.(sasl\.jaas\.config|sasl\.server\.callback\.handler\.class|sasl\.login\.callback\.handler\.class|sasl\.login\.class|connections\.max\.reauth\.ms)$`)
	saslMechanismRE = regexp.MustCompile(`^(gssapi|plain|scram-sha-256|scram-sha-512|oauthbearer)$`)
)

// listenerKey returns the (lower-case) listener a listener-prefixed key configures.
func listenerKey(version, key string) (listener string, ok bool) {
	if m := mechanismKeyRE.FindStringSubmatch(key); m != nil && saslMechanismRE.MatchString(m[2]) {
		return m[1], true
	}
	if m := listenerKeyRE.FindStringSubmatch(key); m != nil {
		if def, ok := generated[version][m[2]]; ok && !strings.HasPrefix(def, "internal: ") {
			return m[1], true
		}
	}
	return "", false
}

// Reserved reports whether Orbit owns key, so that an operator's profile may not set it,
// and why.
func Reserved(key string) (reason string, reserved bool) {
	if r, ok := reservedKeys[key]; ok {
		return r, true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(key, p.prefix) {
			return p.reason, true
		}
	}
	return "", false
}

const (
	network  = "Orbit renders the listeners, names and ports of every node"
	identity = "Orbit assigns node identity, roles and storage"
	security = "Orbit owns authentication, authorization and TLS"
)

var reservedKeys = map[string]string{
	"listeners":                      network,
	"advertised.listeners":           network,
	"listener.security.protocol.map": network,
	"inter.broker.listener.name":     network,
	"security.inter.broker.protocol": network,
	"controller.listener.names":      network,
	"early.start.listeners":          network,
	"process.roles":                  identity,
	"node.id":                        identity,
	"broker.id":                      identity,
	"log.dirs":                       identity,
	"log.dir":                        identity,
	"metadata.log.dir":               identity,
	"broker.rack":                    "Orbit sets the rack from the node's zone",
	"inter.broker.protocol.version":  "Orbit owns version upgrades (metadata.version)",
	"authorizer.class.name":          security,
	"super.users":                    security,
	"allow.everyone.if.no.acl.found": security,
	"principal.builder.class":        security,
	"connections.max.reauth.ms":      security,
	"security.providers":             security,
	"delegation.token.secret.key":    security,
	"client.quota.callback.class":    "Orbit sets quotas through the Admin API",
	"create.topic.policy.class.name": "plugin classes are not part of Orbit's image",
	"alter.config.policy.class.name": "plugin classes are not part of Orbit's image",
}

var reservedPrefixes = []struct{ prefix, reason string }{
	{"controller.quorum.", "Orbit renders the controller quorum"},
	{"ssl.", security},
	{"sasl.", security},
	{"listener.name.", security},
	{"config.providers", "config providers read files and secrets on the node"},
	{"password.encoder.", security},
}

// CheckProfileKeys checks the keys of an operator's profile for Kafka version: each must be
// known to that version and not reserved by Orbit. Values are not checked. The error joins
// one *KeyError per bad key, in key order.
func CheckProfileKeys(version string, cfg map[string]string) error {
	if _, err := VersionOf(version); err != nil {
		return err
	}
	var errs []error
	for _, k := range sortedKeys(cfg) {
		if why := unknown(version, k); why != "" {
			errs = append(errs, &KeyError{Key: k, Reason: why})
		} else if why, ok := Reserved(k); ok {
			errs = append(errs, &KeyError{Key: k, Reason: "reserved: " + why})
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
