package kafkaconf

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	for in, want := range map[string]string{"3.9.0": "3.9", "3.9": "3.9", "3.8.1": "3.8", "4.0.0": "4.0"} {
		if got, err := VersionOf(in); err != nil || got != want {
			t.Errorf("VersionOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3.7.0", "4", "3.9.0.1", "v3.9", "3.9.x"} {
		_, err := VersionOf(in)
		if !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), "3.8, 3.9, 4.0") {
			t.Errorf("VersionOf(%q) error = %v", in, err)
		}
	}
}

func TestKnown(t *testing.T) {
	tests := []struct {
		key  string
		want map[string]bool // version → known
	}{
		{"log.message.format.version", map[string]bool{"3.8": true, "3.9": true, "4.0": false}},
		{"log.message.timestamp.difference.max.ms", map[string]bool{"3.9": true, "4.0": false}},
		{"cluster.id", map[string]bool{"3.8": false, "3.9": false, "4.0": false}},
		{"zookeeper.connect", map[string]bool{"3.8": false, "3.9": false, "4.0": false}},
		{"control.plane.listener.name", map[string]bool{"3.9": false}},
		{"controller.quorum.bootstrap.servers", map[string]bool{"3.8": false, "3.9": true, "4.0": true}},
		{"controller.quorum.voters", map[string]bool{"3.8": true, "3.9": true, "4.0": true}},
		{"group.coordinator.rebalance.protocols", map[string]bool{"3.8": true, "4.0": true}},
		{"share.coordinator.threads", map[string]bool{"3.9": false, "4.0": true}},
		{"super.users", map[string]bool{"3.8": true, "4.0": true}},
		{"allow.everyone.if.no.acl.found", map[string]bool{"4.0": true}},
		{"node.id", map[string]bool{"3.8": true, "4.0": true}},
		{"process.roles", map[string]bool{"4.0": true}},
		{"log.dirs", map[string]bool{"4.0": true}},
		{"listener.name.client.ssl.keystore.location", map[string]bool{"3.9": true}},
		{"listener.name.client.scram-sha-512.sasl.jaas.config", map[string]bool{"4.0": true}},
		{"listener.name.client.sasl.enabled.mechanisms", map[string]bool{"4.0": true}},
		{"listener.name.client.log.dirs", map[string]bool{"4.0": false}},
		{"listener.name.client.nosuch.sasl.jaas.config", map[string]bool{"4.0": false}},
		{"config.providers.file.class", map[string]bool{"3.9": true}},
		{"unstable.api.versions.enable", map[string]bool{"3.9": false}}, // internal
		{"no.such.key", map[string]bool{"3.9": false}},
	}
	for _, tt := range tests {
		for v, want := range tt.want {
			if got := Known(v, tt.key); got != want {
				t.Errorf("Known(%s, %q) = %v, want %v (%s)", v, tt.key, got, want, unknown(v, tt.key))
			}
		}
	}
	if Known("3.7", "node.id") {
		t.Error("an unsupported version knows keys")
	}
}

func TestReserved(t *testing.T) {
	for _, k := range []string{"listeners", "controller.quorum.voters", "ssl.keystore.location", "sasl.enabled.mechanisms",
		"listener.name.client.ssl.key.password", "super.users", "node.id", "log.dirs", "connections.max.reauth.ms", "broker.rack"} {
		if why, ok := Reserved(k); !ok || why == "" {
			t.Errorf("Reserved(%q) = %q, %v", k, why, ok)
		}
	}
	for _, k := range []string{"num.partitions", "log.retention.hours", "auto.create.topics.enable"} {
		if _, ok := Reserved(k); ok {
			t.Errorf("Reserved(%q) = true", k)
		}
	}
}

func TestCheckProfileKeys(t *testing.T) {
	if err := CheckProfileKeys("3.9.0", map[string]string{"num.partitions": "6", "log.retention.hours": "72"}); err != nil {
		t.Fatal(err)
	}
	for key, why := range map[string]string{
		"cluster.id":                 "storage is formatted",
		"log.message.format.version": "removed",
		"ssl.keystore.location":      "reserved",
		"nonsense":                   "not defined",
	} {
		err := CheckProfileKeys("4.0", map[string]string{"num.partitions": "6", key: "x"})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key || !strings.Contains(ke.Reason, why) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: got %v, want a *KeyError naming it (%s)", key, err, why)
		}
	}
	if err := CheckProfileKeys("2.8", nil); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("unsupported version: %v", err)
	}
}

// A KRaft broker as Orbit renders it: SCRAM over SASL_SSL for clients, SSL between brokers
// and to the controllers, PEM key material, the standard authorizer.
func brokerProps() map[string]string {
	return map[string]string{
		"process.roles":                                "broker",
		"node.id":                                      "3",
		"controller.quorum.bootstrap.servers":          "kafka-controller-0.kafka-controller.ns.svc:9093,kafka-controller-1.kafka-controller.ns.svc:9093",
		"controller.listener.names":                    "CONTROLLER",
		"listeners":                                    "CLIENT://:9092,INTERNAL://:9094",
		"advertised.listeners":                         "CLIENT://b3.example.com:9092,INTERNAL://kafka-broker-3.kafka-broker-headless.ns.svc:9094",
		"listener.security.protocol.map":               "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
		"inter.broker.listener.name":                   "INTERNAL",
		"log.dirs":                                     "/var/lib/orbit/data/kafka",
		"broker.rack":                                  "zone-a",
		"sasl.enabled.mechanisms":                      "SCRAM-SHA-512",
		"listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
		"listener.name.client.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"ssl.keystore.type":                     "PEM",
		"ssl.keystore.location":                 "/etc/orbit/tls/keystore.pem",
		"ssl.truststore.type":                   "PEM",
		"ssl.truststore.location":               "/etc/orbit/tls/ca.crt",
		"ssl.endpoint.identification.algorithm": "https",
		"ssl.client.auth":                       "required",
		"listener.name.client.ssl.client.auth":  "none",
		"authorizer.class.name":                 "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                           "User:CN=orbit-broker;User:orbit-admin",
		"allow.everyone.if.no.acl.found":        "false",
		"connections.max.reauth.ms":             "3600000",
		"num.partitions":                        "3",
	}
}

func controllerProps() map[string]string {
	return map[string]string{
		"process.roles":                  "controller",
		"node.id":                        "0",
		"controller.quorum.voters":       "0@kafka-controller-0.kafka-controller.ns.svc:9093,1@kafka-controller-1.kafka-controller.ns.svc:9093,2@kafka-controller-2.kafka-controller.ns.svc:9093",
		"controller.listener.names":      "CONTROLLER",
		"listeners":                      "CONTROLLER://:9093",
		"listener.security.protocol.map": "CONTROLLER:SSL",
		"log.dirs":                       "/var/lib/orbit/data/kafka",
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.location":          "/etc/orbit/tls/keystore.pem",
		"ssl.truststore.type":            "PEM",
		"ssl.truststore.location":        "/etc/orbit/tls/ca.crt",
		"ssl.client.auth":                "required",
		"authorizer.class.name":          "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":                    "User:CN=orbit-broker",
	}
}

func TestValidateRealistic(t *testing.T) {
	for _, v := range []string{"3.9", "4.0.0"} {
		if err := Validate(v, Broker, brokerProps()); err != nil {
			t.Errorf("broker %s: %v", v, err)
		}
		if err := Validate(v, Controller, controllerProps()); err != nil {
			t.Errorf("controller %s: %v", v, err)
		}
	}
	// 3.8 has no controller.quorum.bootstrap.servers: the broker needs the voters.
	b := brokerProps()
	delete(b, "controller.quorum.bootstrap.servers")
	b["controller.quorum.voters"] = controllerProps()["controller.quorum.voters"]
	if err := Validate("3.8", Broker, b); err != nil {
		t.Errorf("broker 3.8: %v", err)
	}
	if err := Validate("3.8", Controller, controllerProps()); err != nil {
		t.Errorf("controller 3.8: %v", err)
	}
}

// TestValidateRules breaks one rule at a time of a valid configuration and expects a
// violation naming the key.
func TestValidateRules(t *testing.T) {
	pem := "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
	encrypted := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
	tests := []struct {
		name   string
		role   Role
		change map[string]string // "" value deletes
		key    string            // a key the violation must name; "" means valid
	}{
		{"unknown key", Broker, map[string]string{"cluster.id": "abc"}, "cluster.id"},
		{"removed key", Broker, map[string]string{"log.message.format.version": "3.0"}, "log.message.format.version"},
		{"roles missing", Broker, map[string]string{"process.roles": ""}, "process.roles"},
		{"roles bad", Broker, map[string]string{"process.roles": "broker,zookeeper"}, "process.roles"},
		{"roles wrong for node", Broker, map[string]string{"process.roles": "controller"}, "process.roles"},
		{"node.id missing", Broker, map[string]string{"node.id": ""}, "node.id"},
		{"node.id bad", Broker, map[string]string{"node.id": "x"}, "node.id"},
		{"controller listener names empty", Broker, map[string]string{"controller.listener.names": ""}, "controller.listener.names"},
		{"controller listener unmapped", Broker, map[string]string{"listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL"}, "controller.listener.names"},
		{"broker listens on controller", Broker, map[string]string{"listeners": "CLIENT://:9092,INTERNAL://:9094,CONTROLLER://:9093"}, "listeners"},
		{"broker advertises controller", Broker, map[string]string{"advertised.listeners": "CLIENT://b:9092,INTERNAL://i:9094,CONTROLLER://c:9093"}, "advertised.listeners"},
		{"no quorum", Broker, map[string]string{"controller.quorum.bootstrap.servers": ""}, "controller.quorum.voters"},
		{"voters syntax", Broker, map[string]string{"controller.quorum.voters": "0@host"}, "controller.quorum.voters"},
		{"bootstrap syntax", Broker, map[string]string{"controller.quorum.bootstrap.servers": "host"}, "controller.quorum.bootstrap.servers"},
		{"broker is a voter", Broker, map[string]string{"controller.quorum.voters": "3@c:9093"}, "controller.quorum.voters"},
		{"listener unmapped", Broker, map[string]string{"listeners": "CLIENT://:9092,INTERNAL://:9094,OTHER://:9095"}, "listener.security.protocol.map"},
		{"no map, protocol names", Broker, map[string]string{"listener.security.protocol.map": "", "listeners": "SASL_SSL://:9092,SSL://:9094",
			"advertised.listeners": "SASL_SSL://b:9092,SSL://i:9094", "inter.broker.listener.name": "SSL", "controller.listener.names": "SSL_CTL",
			"listener.name.client.sasl.enabled.mechanisms": "", "listener.name.client.scram-sha-512.sasl.jaas.config": "", "listener.name.client.ssl.client.auth": ""}, "controller.listener.names"},
		{"listener names unique", Broker, map[string]string{"listeners": "CLIENT://:9092,CLIENT://:9094"}, "listeners"},
		{"ports unique", Broker, map[string]string{"listeners": "CLIENT://:9092,INTERNAL://:9092"}, "listeners"},
		{"listener syntax", Broker, map[string]string{"listeners": "CLIENT:9092"}, "listeners"},
		{"advertised 0.0.0.0", Broker, map[string]string{"advertised.listeners": "CLIENT://0.0.0.0:9092,INTERNAL://i:9094"}, "advertised.listeners"},
		{"advertised not listening", Broker, map[string]string{"advertised.listeners": "CLIENT://b:9092,INTERNAL://i:9094,EXTRA://e:1", "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL,EXTRA:SSL"}, "advertised.listeners"},
		{"inter-broker and protocol", Broker, map[string]string{"security.inter.broker.protocol": "SSL"}, "security.inter.broker.protocol"},
		{"inter-broker not a listener", Broker, map[string]string{"inter.broker.listener.name": "OTHER"}, "inter.broker.listener.name"},
		{"inter-broker is controller", Broker, map[string]string{"inter.broker.listener.name": "CONTROLLER"}, "inter.broker.listener.name"},
		{"sasl without mechanisms", Broker, map[string]string{"sasl.enabled.mechanisms": "", "listener.name.client.sasl.enabled.mechanisms": ""}, "sasl.enabled.mechanisms"},
		{"sasl inter-broker mechanism", Broker, map[string]string{"listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SSL",
			"sasl.mechanism.inter.broker.protocol": "PLAIN"}, "sasl.mechanism.inter.broker.protocol"},
		{"sasl inter-broker default GSSAPI", Broker, map[string]string{"listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SSL"}, "sasl.mechanism.inter.broker.protocol"},
		{"sasl inter-broker ok", Broker, map[string]string{"listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SSL",
			"sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512"}, ""},
		{"prefix for no listener", Broker, map[string]string{"listener.name.external.ssl.client.auth": "none"}, "listener.name.external.ssl.client.auth"},
		{"pem inline ok", Broker, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": pem, "ssl.keystore.certificate.chain": pem}, ""},
		{"pem inline and location", Broker, map[string]string{"ssl.keystore.key": pem, "ssl.keystore.certificate.chain": pem}, "ssl.keystore.location"},
		{"pem inline without chain", Broker, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": pem}, "ssl.keystore.certificate.chain"},
		{"pem inline encrypted", Broker, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": encrypted, "ssl.keystore.certificate.chain": pem}, "ssl.key.password"},
		{"pem inline encrypted ok", Broker, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": encrypted, "ssl.keystore.certificate.chain": pem, "ssl.key.password": "k"}, ""},
		{"pem key password, plain key", Broker, map[string]string{"ssl.keystore.location": "", "ssl.keystore.key": pem, "ssl.keystore.certificate.chain": pem, "ssl.key.password": "k"}, "ssl.key.password"},
		{"pem keystore password", Broker, map[string]string{"ssl.keystore.password": "p"}, "ssl.keystore.password"},
		{"inline key not PEM", Broker, map[string]string{"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "", "ssl.keystore.key": pem, "ssl.keystore.certificate.chain": pem}, "ssl.keystore.type"},
		{"pkcs12 needs password", Broker, map[string]string{"ssl.keystore.type": "PKCS12"}, "ssl.keystore.password"},
		{"pem truststore password", Broker, map[string]string{"ssl.truststore.password": "p"}, "ssl.truststore.password"},
		{"truststore certs and location", Broker, map[string]string{"ssl.truststore.certificates": pem}, "ssl.truststore.certificates"},
		{"truststore certs ok", Broker, map[string]string{"ssl.truststore.location": "", "ssl.truststore.certificates": pem}, ""},
		{"listener pem override", Broker, map[string]string{"listener.name.client.ssl.keystore.password": "p"}, "listener.name.client.ssl.keystore.password"},
		{"acl authorizer", Broker, map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"}, "authorizer.class.name"},
		{"controller listens on client", Controller, map[string]string{"listeners": "CONTROLLER://:9093,CLIENT://:9092", "listener.security.protocol.map": "CONTROLLER:SSL,CLIENT:SSL"}, "listeners"},
		{"controller listener not listening", Controller, map[string]string{"controller.listener.names": "CONTROLLER,CTL2", "listener.security.protocol.map": "CONTROLLER:SSL,CTL2:SSL"}, "controller.listener.names"},
		{"controller not a voter", Controller, map[string]string{"node.id": "7"}, "controller.quorum.voters"},
		{"controller duplicate voter", Controller, map[string]string{"controller.quorum.voters": "0@a:9093,0@b:9093"}, "controller.quorum.voters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := brokerProps()
			if tt.role == Controller {
				props = controllerProps()
			}
			for k, v := range tt.change {
				if v == "" {
					delete(props, k)
				} else {
					props[k] = v
				}
			}
			err := Validate("4.0", tt.role, props)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *ValidationError naming %s, got %v", tt.key, err)
			}
			for _, v := range ve.Violations {
				for _, k := range v.Keys {
					if k == tt.key {
						return
					}
				}
			}
			t.Fatalf("no violation names %s: %v", tt.key, err)
		})
	}
}

func TestValidateArguments(t *testing.T) {
	if err := Validate("3.7.0", Broker, brokerProps()); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("unsupported version: %v", err)
	}
	if err := Validate("4.0", Role("zookeeper"), brokerProps()); err == nil {
		t.Error("unknown role accepted")
	}
	props := maps.Clone(controllerProps())
	props["process.roles"] = "broker,controller"
	props["listeners"] = "CONTROLLER://:9093,PLAINTEXT://:9092"
	props["listener.security.protocol.map"] = "CONTROLLER:SSL,PLAINTEXT:PLAINTEXT"
	if err := Validate("4.0", Combined, props); err != nil {
		t.Errorf("combined: %v", err)
	}
}

// TestServerSynonymsOfTopicConfigs: broker keys that Kafka derives from topic configs
// (ServerTopicConfigSynonyms) have their real names, not "log." + the topic config.
func TestServerSynonymsOfTopicConfigs(t *testing.T) {
	for _, v := range Supported() {
		for _, key := range []string{"min.insync.replicas", "unclean.leader.election.enable", "compression.type", "message.max.bytes",
			"log.roll.ms", "log.roll.hours", "log.flush.interval.ms", "log.index.size.max.bytes", "log.cleaner.min.cleanable.ratio",
			"log.cleaner.delete.retention.ms", "log.segment.delete.delay.ms", "log.retention.hours", "log.segment.bytes"} {
			if !Known(v, key) {
				t.Errorf("Kafka %s: %s unknown", v, key)
			}
		}
		for _, key := range []string{"log.min.insync.replicas", "log.segment.ms", "log.flush.ms", "log.max.message.bytes"} {
			if Known(v, key) {
				t.Errorf("Kafka %s: %s known, but Kafka has no such broker key", v, key)
			}
		}
	}
}

func TestMetadataVersion(t *testing.T) {
	for v, want := range map[string]int16{"3.8.0": 20, "3.9.0": 21, "3.9": 21, "4.0.0": 25} {
		got, err := MetadataVersion(v)
		if err != nil || got != want {
			t.Errorf("MetadataVersion(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	if _, err := MetadataVersion("3.7.0"); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("3.7.0: %v, want ErrUnsupportedVersion", err)
	}
	if MetadataVersionName(21) != "3.9-IV0" || MetadataVersionName(25) != "4.0-IV3" || MetadataVersionName(99) != "99" {
		t.Error("names of metadata versions")
	}
	if err := CheckMetadataVersion("3.9.0", 21); err != nil {
		t.Error(err)
	}
	for _, bad := range []int16{22, 25, 6, 0} {
		if err := CheckMetadataVersion("3.9.0", bad); err == nil || !strings.Contains(err.Error(), "3.9-IV0") {
			t.Errorf("level %d on 3.9.0: %v", bad, err)
		}
	}
}
