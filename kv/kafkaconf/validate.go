package kafkaconf

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Role is what a node runs, as process.roles spells it.
type Role string

const (
	Broker     Role = "broker"
	Controller Role = "controller"
	// Combined runs both in one process (process.roles=broker,controller).
	Combined Role = "broker,controller"
)

func (r Role) broker() bool     { return r == Broker || r == Combined }
func (r Role) controller() bool { return r == Controller || r == Combined }

// Violation is one rule a configuration breaks, with the keys involved.
type Violation struct {
	Keys   []string
	Reason string
}

func (v Violation) String() string { return strings.Join(v.Keys, ", ") + ": " + v.Reason }

// ValidationError lists every violation found in one configuration.
type ValidationError struct {
	Version    string
	Role       Role
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid Kafka %s %s configuration (%d problems)", e.Version, e.Role, len(e.Violations))
	for _, v := range e.Violations {
		b.WriteString("; ")
		b.WriteString(v.String())
	}
	return b.String()
}

// Validate checks the full server properties of one KRaft node as Kafka version would at
// start: every key known to version (see Known), and the cross-field rules of KafkaConfig
// and of the SSL engine factory that apply to what Orbit renders. The error is a
// *ValidationError listing every violation, or an error wrapping ErrUnsupportedVersion.
func Validate(version string, role Role, props map[string]string) error {
	v, err := VersionOf(version)
	if err != nil {
		return err
	}
	if role != Broker && role != Controller && role != Combined {
		return fmt.Errorf("kafkaconf: unknown role %q", role)
	}
	c := &checker{version: v, role: role, props: props}
	c.keys()
	c.identity()
	c.listeners()
	c.quorum()
	c.sasl()
	c.pem()
	c.authorizer()
	if len(c.violations) == 0 {
		return nil
	}
	return &ValidationError{Version: v, Role: role, Violations: c.violations}
}

type checker struct {
	version    string
	role       Role
	props      map[string]string
	violations []Violation

	// Filled by listeners().
	protocols   map[string]string // listener name → security protocol (effective map)
	listenerSet []endpoint        // listeners
	advertised  []endpoint        // effective advertised listeners
	controllers []string          // controller.listener.names
	interBroker string            // inter-broker listener name, "" if not a broker
}

func (c *checker) fail(reason string, keys ...string) {
	c.violations = append(c.violations, Violation{Keys: keys, Reason: reason})
}

func (c *checker) get(key string) (string, bool) {
	v, ok := c.props[key]
	return strings.TrimSpace(v), ok
}

// keys: every key known, and listener-prefixed keys name a configured listener (Kafka
// silently ignores the others). A broker-only node does not listen on the controller
// listeners but connects to the quorum through them, with their listener-prefixed client
// settings (KafkaRaftManager builds its channel for controller.listener.names), so those
// names count too.
func (c *checker) keys() {
	var listeners []string
	if v, ok := c.get("listeners"); ok {
		for _, e := range csv(v) {
			name, _, _ := strings.Cut(e, "://")
			listeners = append(listeners, strings.ToLower(name))
		}
	}
	if v, ok := c.get("controller.listener.names"); ok {
		for _, name := range csv(v) {
			listeners = append(listeners, strings.ToLower(name))
		}
	}
	for _, k := range sortedKeys(c.props) {
		if why := unknown(c.version, k); why != "" {
			c.fail(why, k)
		} else if l, ok := listenerKey(c.version, k); ok && !slices.Contains(listeners, l) {
			c.fail(fmt.Sprintf("names listener %q, which is not in listeners (Kafka would ignore it)", l), k)
		}
	}
}

// identity: process.roles and node.id (KafkaConfig.parseProcessRoles, validateValues).
func (c *checker) identity() {
	roles, ok := c.get("process.roles")
	if !ok || roles == "" {
		c.fail("must be set: Orbit runs KRaft only", "process.roles")
	} else {
		var seen []string
		for _, r := range csv(roles) {
			if r != "broker" && r != "controller" {
				c.fail(fmt.Sprintf("unknown process role %q", r), "process.roles")
			} else if slices.Contains(seen, r) {
				c.fail(fmt.Sprintf("duplicate role %q", r), "process.roles")
			} else {
				seen = append(seen, r)
			}
		}
		slices.Sort(seen)
		if got := Role(strings.Join(seen, ",")); got != c.role {
			c.fail(fmt.Sprintf("is %q, want %q for this node", roles, c.role), "process.roles")
		}
	}
	id, ok := c.get("node.id")
	if !ok {
		c.fail("must be set in KRaft mode", "node.id")
	} else if n, err := strconv.ParseInt(id, 10, 32); err != nil || n < 0 {
		c.fail(fmt.Sprintf("%q is not a non-negative int", id), "node.id")
	}
	if b, ok := c.get("broker.id"); ok && b != id && b != "-1" {
		c.fail("must equal node.id when both are set", "broker.id", "node.id")
	}
}

// endpoint is one entry of listeners or advertised.listeners.
type endpoint struct {
	name, host string
	port       int
}

// parseEndpoints parses NAME://host:port entries the way Kafka's
// CoreUtils.listenerListToEndPoints does (listener names are upper-cased by
// ListenerName.normalised), reporting malformed or duplicate names against key.
func (c *checker) parseEndpoints(key, value string) []endpoint {
	var eps []endpoint
	for _, s := range csv(value) {
		name, hostPort, ok := strings.Cut(s, "://")
		host, portStr, err := net.SplitHostPort(hostPort)
		port, perr := strconv.Atoi(portStr)
		if !ok || name == "" || err != nil || perr != nil || port < 0 || port > 65535 {
			c.fail(fmt.Sprintf("%q is not NAME://host:port", s), key)
			continue
		}
		name = strings.ToUpper(name)
		if slices.ContainsFunc(eps, func(e endpoint) bool { return e.name == name }) {
			c.fail(fmt.Sprintf("listener name %s appears twice", name), key)
			continue
		}
		eps = append(eps, endpoint{name: name, host: host, port: port})
	}
	return eps
}

var securityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// listeners: the listener rules of KafkaConfig (3.9 validateValues,
// effectiveListenerSecurityProtocolMap, getInterBrokerListenerNameAndSecurityProtocol).
func (c *checker) listeners() {
	c.controllers = nil
	if names, _ := c.get("controller.listener.names"); names != "" {
		for _, n := range csv(names) {
			c.controllers = append(c.controllers, strings.ToUpper(n))
		}
	}
	if len(c.controllers) == 0 {
		c.fail("must name at least one listener in KRaft mode", "controller.listener.names")
	}
	isController := func(name string) bool { return slices.Contains(c.controllers, name) }

	// The security protocol map; absent, Kafka maps each protocol's name to itself (and,
	// when nothing uses SSL or SASL, the controller listeners to PLAINTEXT).
	c.protocols = map[string]string{}
	if m, ok := c.get("listener.security.protocol.map"); ok {
		for _, pair := range csv(m) {
			name, proto, ok := strings.Cut(pair, ":")
			name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.TrimSpace(proto)
			switch {
			case !ok || name == "":
				c.fail(fmt.Sprintf("%q is not NAME:PROTOCOL", pair), "listener.security.protocol.map")
			case !slices.Contains(securityProtocols, proto):
				c.fail(fmt.Sprintf("invalid security protocol %q for %s", proto, name), "listener.security.protocol.map")
			case c.protocols[name] != "":
				c.fail(fmt.Sprintf("listener %s mapped twice", name), "listener.security.protocol.map")
			default:
				c.protocols[name] = proto
			}
		}
	} else {
		for _, p := range securityProtocols {
			c.protocols[p] = p
		}
	}

	listeners, ok := c.get("listeners")
	if !ok {
		listeners = "PLAINTEXT://:9092" // Kafka's default
	}
	c.listenerSet = c.parseEndpoints("listeners", listeners)
	ports := map[int]string{}
	for _, e := range c.listenerSet {
		if e.port != 0 && ports[e.port] != "" {
			// Kafka allows one IPv4 and one IPv6 listener to share a port; Orbit never renders that.
			c.fail(fmt.Sprintf("listeners %s and %s share port %d", ports[e.port], e.name, e.port), "listeners")
		}
		ports[e.port] = e.name
	}
	if adv, ok := c.get("advertised.listeners"); ok {
		c.advertised = c.parseEndpoints("advertised.listeners", adv)
	} else {
		c.advertised = c.listenerSet
	}
	for _, set := range []struct {
		key string
		eps []endpoint
	}{{"listeners", c.listenerSet}, {"advertised.listeners", c.advertised}} {
		for _, e := range set.eps {
			if c.protocols[e.name] == "" {
				c.fail(fmt.Sprintf("listener %s has no security protocol in listener.security.protocol.map", e.name), set.key, "listener.security.protocol.map")
			}
			if e.host == "0.0.0.0" && set.key == "advertised.listeners" {
				c.fail(fmt.Sprintf("listener %s advertises the non-routable meta-address 0.0.0.0", e.name), set.key)
			}
		}
	}
	for _, n := range c.controllers {
		if c.protocols[n] == "" {
			c.fail(fmt.Sprintf("controller listener %s has no security protocol in listener.security.protocol.map", n), "controller.listener.names", "listener.security.protocol.map")
		}
	}

	names := func(eps []endpoint) (out []string) {
		for _, e := range eps {
			out = append(out, e.name)
		}
		return out
	}
	listenerNames := names(c.listenerSet)
	switch c.role {
	case Broker:
		for _, e := range c.listenerSet {
			if isController(e.name) {
				c.fail(fmt.Sprintf("a broker must not listen on controller listener %s", e.name), "listeners", "controller.listener.names")
			}
		}
		// Kafka 3.9+ drops controller listeners from a broker's advertised listeners;
		// Orbit never means to render one there.
		for _, e := range c.advertised {
			if isController(e.name) {
				c.fail(fmt.Sprintf("a broker must not advertise controller listener %s", e.name), "advertised.listeners", "controller.listener.names")
			}
		}
	case Controller:
		for _, e := range c.listenerSet {
			if !isController(e.name) {
				c.fail(fmt.Sprintf("a controller may only listen on controller listeners, not %s", e.name), "listeners", "controller.listener.names")
			}
		}
	}
	if c.role.controller() {
		for _, n := range c.controllers {
			if !slices.Contains(listenerNames, n) {
				c.fail(fmt.Sprintf("controller listener %s is not in listeners", n), "controller.listener.names", "listeners")
			}
		}
	}
	if !c.role.broker() {
		return
	}

	// Inter-broker listener: named, or the listener named after security.inter.broker.protocol.
	ibl, hasName := c.get("inter.broker.listener.name")
	ibp, hasProto := c.get("security.inter.broker.protocol")
	switch {
	case hasName && hasProto:
		c.fail("only one may be set", "inter.broker.listener.name", "security.inter.broker.protocol")
	case hasName:
		c.interBroker = strings.ToUpper(ibl)
	case hasProto:
		c.interBroker = ibp
	default:
		c.interBroker = "PLAINTEXT"
	}
	var brokerAdvertised []string
	for _, e := range c.advertised {
		if !isController(e.name) {
			brokerAdvertised = append(brokerAdvertised, e.name)
		}
	}
	if len(brokerAdvertised) == 0 {
		c.fail("a broker must advertise at least one non-controller listener", "advertised.listeners")
	}
	for _, n := range brokerAdvertised {
		if !slices.Contains(listenerNames, n) {
			c.fail(fmt.Sprintf("advertised listener %s is not in listeners", n), "advertised.listeners", "listeners")
		}
	}
	if isController(c.interBroker) {
		c.fail(fmt.Sprintf("inter-broker listener %s is a controller listener", c.interBroker), "inter.broker.listener.name", "controller.listener.names")
	} else if !slices.Contains(brokerAdvertised, c.interBroker) {
		c.fail(fmt.Sprintf("inter-broker listener %s is not an advertised broker listener", c.interBroker), "inter.broker.listener.name", "advertised.listeners")
	}
}

// quorum: controller.quorum.voters (id@host:port,...) or, from Kafka 3.9 (KIP-853),
// controller.quorum.bootstrap.servers (host:port,...) must be set (KafkaConfig
// validateQuorumVotersAndQuorumBootstrapServerForKRaft, QuorumConfig.parseVoterConnections).
// A controller's node id is among the voters, a pure broker's is not.
func (c *checker) quorum() {
	voters, hasVoters := c.get("controller.quorum.voters")
	bootstrap, hasBootstrap := c.get("controller.quorum.bootstrap.servers")
	hasBootstrap = hasBootstrap && bootstrap != "" && Known(c.version, "controller.quorum.bootstrap.servers")
	if (!hasVoters || voters == "") && !hasBootstrap {
		if Known(c.version, "controller.quorum.bootstrap.servers") {
			c.fail("one must be set", "controller.quorum.voters", "controller.quorum.bootstrap.servers")
		} else {
			c.fail("must be set", "controller.quorum.voters")
		}
	}
	ids := map[int]bool{}
	for _, v := range csv(voters) {
		id, hostPort, ok := strings.Cut(v, "@")
		n, err := strconv.Atoi(id)
		if !ok || err != nil || n < 0 || !validHostPort(hostPort) {
			c.fail(fmt.Sprintf("%q is not id@host:port", v), "controller.quorum.voters")
			continue
		}
		if ids[n] {
			c.fail(fmt.Sprintf("voter %d appears twice", n), "controller.quorum.voters")
		}
		ids[n] = true
	}
	for _, b := range csv(bootstrap) {
		if !validHostPort(b) {
			c.fail(fmt.Sprintf("%q is not host:port", b), "controller.quorum.bootstrap.servers")
		}
	}
	if len(ids) == 0 {
		return
	}
	node, err := strconv.Atoi(c.props["node.id"])
	if err != nil {
		return // reported by identity
	}
	if c.role.controller() && !ids[node] {
		c.fail(fmt.Sprintf("controller node %d is not among the voters", node), "controller.quorum.voters", "node.id")
	}
	if c.role == Broker && ids[node] {
		c.fail(fmt.Sprintf("broker node %d must not be a voter", node), "controller.quorum.voters", "node.id")
	}
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	return err == nil && host != "" && perr == nil && n > 0 && n <= 65535
}

// sasl: a SASL listener has its mechanisms enabled explicitly (Kafka defaults to GSSAPI,
// which Orbit never runs), and the inter-broker and controller mechanisms are enabled on
// their listeners (KafkaConfig.validateValues: saslEnabledMechanisms(interBrokerListenerName)
// contains sasl.mechanism.inter.broker.protocol).
func (c *checker) sasl() {
	mechanisms := func(listener string) (key string, list []string) {
		key = "listener.name." + strings.ToLower(listener) + ".sasl.enabled.mechanisms"
		if v, ok := c.get(key); ok {
			return key, csv(v)
		}
		v, _ := c.get("sasl.enabled.mechanisms")
		return "sasl.enabled.mechanisms", csv(v)
	}
	isSASL := func(name string) bool { return strings.HasPrefix(c.protocols[name], "SASL_") }
	for _, e := range c.listenerSet {
		if isSASL(e.name) {
			if key, list := mechanisms(e.name); len(list) == 0 {
				c.fail(fmt.Sprintf("SASL listener %s has no enabled mechanism", e.name), key)
			}
		}
	}
	require := func(listener, mechKey string) {
		if listener == "" || !isSASL(listener) {
			return
		}
		mech, ok := c.get(mechKey)
		if !ok {
			mech = "GSSAPI" // Kafka's default
		}
		if key, list := mechanisms(listener); !slices.Contains(list, mech) {
			c.fail(fmt.Sprintf("mechanism %s is not enabled on listener %s", mech, listener), mechKey, key)
		}
	}
	if c.role.broker() {
		require(c.interBroker, "sasl.mechanism.inter.broker.protocol")
	}
	if len(c.controllers) > 0 {
		require(c.controllers[0], "sasl.mechanism.controller.protocol")
	}
}

// pem: the key store and trust store rules of DefaultSslEngineFactory (KIP-651), for the
// global ssl.* keys and for each listener's ssl.* overrides on top of them:
//
//   - ssl.keystore.key needs ssl.keystore.certificate.chain and the reverse; both need
//     ssl.keystore.type=PEM and exclude ssl.keystore.location;
//   - a PEM key store takes no ssl.keystore.password (only ssl.key.password); an inline
//     encrypted private key needs ssl.key.password, an unencrypted one must not have it;
//   - ssl.truststore.certificates needs ssl.truststore.type=PEM and excludes
//     ssl.truststore.location; a PEM trust store takes no ssl.truststore.password;
//   - a non-PEM key store with a location needs ssl.keystore.password, and a password
//     needs a location.
func (c *checker) pem() {
	scopes := []string{""}
	for _, e := range c.listenerSet {
		p := "listener.name." + strings.ToLower(e.name) + "."
		for k := range c.props {
			if strings.HasPrefix(k, p+"ssl.") {
				scopes = append(scopes, p)
				break
			}
		}
	}
	for _, p := range scopes {
		get := func(k string) (string, string, bool) {
			if v, ok := c.get(p + k); ok && p != "" {
				return p + k, v, true
			}
			v, ok := c.get(k)
			return k, v, ok
		}
		typeKey, ksType, ok := get("ssl.keystore.type")
		if !ok {
			ksType = "JKS"
		}
		locKey, _, hasLoc := get("ssl.keystore.location")
		pwKey, _, hasPw := get("ssl.keystore.password")
		keyKey, key, hasKey := get("ssl.keystore.key")
		chainKey, _, hasChain := get("ssl.keystore.certificate.chain")
		kpKey, _, hasKeyPw := get("ssl.key.password")
		pem := strings.EqualFold(ksType, "PEM")
		switch {
		case hasKey && !pem:
			c.fail("an inline private key needs ssl.keystore.type=PEM", keyKey, typeKey)
		case hasKey && !hasChain:
			c.fail("an inline private key needs a certificate chain", keyKey, chainKey)
		case hasKey && hasLoc:
			c.fail("set either the key store location or the inline PEM key, not both", locKey, keyKey)
		case hasKey && hasPw, pem && hasLoc && hasPw:
			c.fail("a PEM key store takes no password, only ssl.key.password", pwKey)
		case hasChain && !hasKey:
			c.fail("a certificate chain needs an inline private key", chainKey, keyKey)
		case !pem && !hasLoc && hasPw:
			c.fail("a key store password without a key store location", pwKey, locKey)
		case !pem && hasLoc && !hasPw:
			c.fail("a key store location needs its password", locKey, pwKey)
		}
		if hasKey && pem {
			encrypted := strings.Contains(key, "-----BEGIN ENCRYPTED PRIVATE KEY-----")
			if encrypted && !hasKeyPw {
				c.fail("an encrypted private key needs ssl.key.password", keyKey, kpKey)
			} else if !encrypted && hasKeyPw {
				c.fail("ssl.key.password is set but the private key is not encrypted", keyKey, kpKey)
			}
		}

		tsTypeKey, tsType, ok := get("ssl.truststore.type")
		if !ok {
			tsType = "JKS"
		}
		tsLocKey, _, hasTsLoc := get("ssl.truststore.location")
		tsPwKey, _, hasTsPw := get("ssl.truststore.password")
		certsKey, _, hasCerts := get("ssl.truststore.certificates")
		tsPEM := strings.EqualFold(tsType, "PEM")
		switch {
		case hasCerts && !tsPEM:
			c.fail("inline trust certificates need ssl.truststore.type=PEM", certsKey, tsTypeKey)
		case hasCerts && hasTsLoc:
			c.fail("set either the trust store location or inline certificates, not both", tsLocKey, certsKey)
		case tsPEM && hasTsPw:
			c.fail("a PEM trust store takes no password", tsPwKey)
		case !tsPEM && !hasTsLoc && hasTsPw:
			c.fail("a trust store password without a trust store location", tsPwKey, tsLocKey)
		}
	}
}

// authorizer: KRaft's authorizer is org.apache.kafka.metadata.authorizer.StandardAuthorizer;
// kafka.security.authorizer.AclAuthorizer keeps ACLs in ZooKeeper (removed in 4.0).
func (c *checker) authorizer() {
	switch a, _ := c.get("authorizer.class.name"); a {
	case "kafka.security.authorizer.AclAuthorizer", "kafka.security.auth.SimpleAclAuthorizer":
		c.fail(a+" is ZooKeeper-only; use org.apache.kafka.metadata.authorizer.StandardAuthorizer", "authorizer.class.name")
	}
}

// csv splits a Kafka list value: comma-separated, trimmed, empty items dropped.
func csv(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
