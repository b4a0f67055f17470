package satellite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// converge puts psc into the bucket and runs the satellite's sync and operator on it.
func converge(t *testing.T, p *parts, b jetstream.KeyValue, psc *kv.PSC) *kv.Status {
	t.Helper()
	ctx := context.Background()
	key := putPSC(t, b, psc)
	if err := p.sync.reconcile(ctx, key); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		o, err := p.kube.getPSC(psc.ID)
		if err == nil && o.Spec.Generation != psc.Generation {
			err = fmt.Errorf("PSC %s at generation %d", psc.ID, o.Spec.Generation)
		}
		return err
	})
	if err := p.op.reconcile(ctx, psc.ID); err != nil {
		t.Fatal(err)
	}
	st := p.pub.pending[key]
	if st == nil {
		t.Fatal("no status reported")
	}
	return st
}

func getSecret(t *testing.T, cs *fake.Clientset, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func getConfig(t *testing.T, cs *fake.Clientset, ns, name string) map[string]string {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

func getSet(t *testing.T, cs *fake.Clientset, ns, name string) *appsv1.StatefulSet {
	t.Helper()
	sts, err := cs.AppsV1().StatefulSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// props parses a properties file.
func props(s string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestKafkaStartFormatsStorageFirst(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	converge(t, p, b, testPSC(1, 3))
	ns := Namespace("pkc-1")
	for _, set := range []string{"kafka-controller", "kafka-broker"} {
		c := getSet(t, cs, ns, set).Spec.Template.Spec.Containers[0]
		script := strings.Join(c.Command, " ")
		format := strings.Index(script, "/opt/kafka/bin/kafka-storage.sh format ")
		start := strings.Index(script, "exec /opt/kafka/bin/kafka-server-start.sh /tmp/server.properties")
		if format < 0 || start < format {
			t.Fatalf("%s: storage is not formatted before the start:\n%s", set, script)
		}
		for _, want := range []string{"--ignore-formatted", "-t '" + testClusterID + "'", "-c /tmp/server.properties",
			`--add-scram "SCRAM-SHA-512=[name=orbit-satellite,password=${ORBIT_SUPERUSER_PASSWORD},iterations=4096]"`} {
			if !strings.Contains(script[format:start], want) {
				t.Fatalf("%s: the format command lacks %q:\n%s", set, want, script)
			}
		}
		var fromSecret bool
		for _, e := range c.Env {
			if e.Name == superUserPasswordEnv {
				fromSecret = e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
					e.ValueFrom.SecretKeyRef.Name == superUserSecret && e.ValueFrom.SecretKeyRef.Key == "password"
			}
		}
		if !fromSecret {
			t.Fatalf("%s: the password does not come from the Secret: %+v", set, c.Env)
		}
	}
	// The broker's rack comes from its node, through an init container with its own token.
	pod := getSet(t, cs, ns, "kafka-broker").Spec.Template.Spec
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Args[0] != "rack" || pod.ServiceAccountName != rackSA ||
		pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Fatalf("rack: %+v", pod)
	}
	if !strings.Contains(strings.Join(pod.Containers[0].Command, " "), "cat "+rackFile+" >> /tmp/server.properties") {
		t.Fatal("the broker's rack is not added to its configuration")
	}
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(context.Background(), rackBindingName("pkc-1"), metav1.GetOptions{})
	if err != nil || crb.RoleRef.Name != rackRoleName("sat") || crb.Subjects[0].Namespace != ns || crb.Subjects[0].Name != rackSA {
		t.Fatalf("rack binding: %+v %v", crb, err)
	}
	role, err := cs.RbacV1().ClusterRoles().Get(context.Background(), rackRoleName("sat"), metav1.GetOptions{})
	if err != nil || len(role.Rules) != 1 || strings.Join(role.Rules[0].Resources, ",") != "nodes" || strings.Join(role.Rules[0].Verbs, ",") != "get" {
		t.Fatalf("rack role: %+v %v", role, err)
	}

	data := getConfig(t, cs, ns, "kafka-config")
	for name, file := range data {
		if _, ok := props(file)["cluster.id"]; ok {
			t.Fatalf("%s sets cluster.id, which is not a server property", name)
		}
	}
	broker := props(data["broker.properties"])
	for k, v := range map[string]string{
		"listener.security.protocol.map":               "CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
		"listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
		"authorizer.class.name":                        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"allow.everyone.if.no.acl.found":               "false",
		"super.users":                                  "User:CN=pkc-1,OU=kafka,O=orbit;User:orbit-satellite",
		"connections.max.reauth.ms":                    "300000",
		"ssl.keystore.type":                            "PEM",
		"listener.name.internal.ssl.client.auth":       "required",
	} {
		if broker[k] != v {
			t.Errorf("broker %s = %q, want %q", k, broker[k], v)
		}
	}
	if _, ok := broker["ssl.key.password"]; ok {
		t.Error("an unencrypted PEM key has no password")
	}
	if props(data["controller.properties"])["authorizer.class.name"] == "" {
		t.Error("controllers authorize too")
	}
}

func TestAdvertisedNamesArePublishedAndReported(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	ctx := context.Background()
	st := converge(t, p, b, testPSC(1, 3))
	if st.Bootstrap != "" {
		t.Fatalf("bootstrap %q reported before the load balancer has an address", st.Bootstrap)
	}
	ns := Namespace("pkc-1")
	data := getConfig(t, cs, ns, "kafka-config")
	for i := range 3 {
		svc, err := cs.CoreV1().Services(ns).Get(ctx, fmt.Sprintf("kafka-broker-%d", i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		host := svc.Annotations[annotationExternalDNS]
		adv := props(data[fmt.Sprintf("broker-%d.properties", i)])["advertised.listeners"]
		if host != fmt.Sprintf("b%d.pkc-1.test.local", i) || !strings.HasPrefix(adv, "CLIENT://"+host+":9092,") {
			t.Fatalf("broker %d: published %q, advertised %q", i, host, adv)
		}
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "kafka-bootstrap", metav1.GetOptions{})
	if err != nil || svc.Annotations[annotationExternalDNS] != "bootstrap.pkc-1.test.local" {
		t.Fatalf("bootstrap service: %+v %v", svc.Annotations, err)
	}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "198.18.0.7"}}
	if _, err := cs.CoreV1().Services(ns).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if err := p.op.reconcile(ctx, "pkc-1"); err != nil {
			return err
		}
		if got := p.pub.pending["sat.kafka.pkc-1"].Bootstrap; got != "bootstrap.pkc-1.test.local:9092" {
			return fmt.Errorf("bootstrap %q", got)
		}
		return nil
	})
}

func TestCertificateCoversEveryName(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	st := converge(t, p, b, testPSC(1, 3))
	ns := Namespace("pkc-1")
	ca := getSecret(t, cs, ns, caSecretName)
	tlsSec := getSecret(t, cs, ns, tlsSecretName(kv.ProductKafka))
	if _, ok := tlsSec.Data[keyCAKey]; ok {
		t.Fatal("the CA's key left its Secret")
	}
	if string(ca.Data[fileCA]) != st.CACertificate || string(tlsSec.Data[fileCA]) != st.CACertificate {
		t.Fatal("the reported CA is not the cluster's")
	}
	cert, err := parseCertPEM(tlsSec.Data[fileCert])
	if err != nil {
		t.Fatal(err)
	}
	if serialHex(cert) != st.CertificateSerial {
		t.Fatalf("reported serial %s, issued %s", st.CertificateSerial, serialHex(cert))
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Data[fileCA])
	names := []string{"bootstrap.pkc-1.test.local", "b0.pkc-1.test.local", "b2.pkc-1.test.local",
		"kafka-broker-1.kafka-broker-headless." + ns + ".svc", "kafka-broker-headless." + ns + ".svc",
		"kafka-controller-0.kafka-controller-headless." + ns + ".svc", "kafka-bootstrap." + ns + ".svc"}
	for _, name := range names {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The PEM keystore holds the key and the chain, and loads as a key pair.
	if _, err := tls.X509KeyPair(tlsSec.Data[fileKeystore], tlsSec.Data[fileKeystore]); err != nil {
		t.Fatal(err)
	}
}

func TestRotationKeepsTheCAAndThePods(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	st1 := converge(t, p, b, testPSC(1, 3))
	ns := Namespace("pkc-1")
	ca1 := getSecret(t, cs, ns, caSecretName).Data[fileCA]
	cert1, _ := parseCertPEM(getSecret(t, cs, ns, tlsSecretName(kv.ProductKafka)).Data[fileCert])
	hashes := map[string]string{}
	for _, set := range []string{"kafka-controller", "kafka-broker"} {
		hashes[set] = getSet(t, cs, ns, set).Spec.Template.Annotations[annotationRestartHash]
	}

	rotated := testPSC(2, 3)
	rotated.Spec.TLSSerial = 1
	cs.ClearActions()
	st2 := converge(t, p, b, rotated)
	tlsSec := getSecret(t, cs, ns, tlsSecretName(kv.ProductKafka))
	cert2, _ := parseCertPEM(tlsSec.Data[fileCert])
	if ca2 := getSecret(t, cs, ns, caSecretName).Data[fileCA]; string(ca2) != string(ca1) || string(tlsSec.Data[fileCA]) != string(ca1) || st2.CACertificate != st1.CACertificate {
		t.Fatal("a rotation changed the CA")
	}
	if cert2.SerialNumber.Cmp(cert1.SerialNumber) == 0 || st2.CertificateSerial == st1.CertificateSerial || st2.CertificateSerial != serialHex(cert2) {
		t.Fatalf("the serial did not change: %s → %s", st1.CertificateSerial, st2.CertificateSerial)
	}
	if cert2.Subject.String() != cert1.Subject.String() || strings.Join(cert2.DNSNames, ",") != strings.Join(cert1.DNSNames, ",") {
		t.Fatal("a rotation changed the subject or the names: Kafka would refuse the reload")
	}
	for set, h := range hashes {
		if got := getSet(t, cs, ns, set).Spec.Template.Annotations[annotationRestartHash]; got != h {
			t.Fatalf("%s: a rotation changed the restart hash", set)
		}
	}
	for _, w := range writes(cs.Actions()) {
		if strings.Contains(w, "statefulsets") || strings.Contains(w, "configmaps") {
			t.Fatalf("a rotation wrote %s", w)
		}
	}
}

func TestSuperUserPasswordIsStableAndStaysInItsSecret(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	ctx := context.Background()
	st := converge(t, p, b, testPSC(1, 3))
	ns := Namespace("pkc-1")
	sec := getSecret(t, cs, ns, superUserSecret)
	password := string(sec.Data["password"])
	if string(sec.Data["username"]) != superUserName || len(password) < 20 {
		t.Fatalf("super user secret: user %q, %d-character password", sec.Data["username"], len(password))
	}
	// Later renders, a new generation, and another satellite process with a cold cache.
	converge(t, p, b, testPSC(2, 4))
	p2 := newParts(t, cs, dyn, b)
	st = converge(t, p2, b, testPSC(3, 3))
	if got := string(getSecret(t, cs, ns, superUserSecret).Data["password"]); got != password {
		t.Fatal("the super user's password was regenerated")
	}

	var where []string
	look := func(what string, v any) {
		j, _ := json.Marshal(v)
		if strings.Contains(string(j), password) {
			where = append(where, what)
		}
	}
	cms, _ := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	look("configmaps", cms)
	sets, _ := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	look("statefulsets", sets)
	o, _ := p2.kube.getPSC("pkc-1")
	look("PSC", o)
	look("status", st)
	data, _ := kv.Encode(testPSC(3, 3))
	look("desired", string(data))
	if len(where) > 0 {
		t.Fatalf("the super user's password is in %v", where)
	}
}

func TestWorkersServeHTTPSAndTrustTheirKafka(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	converge(t, p, b, testPSC(1, 3))
	kafkaCA := getSecret(t, cs, Namespace("pkc-1"), caSecretName).Data[fileCA]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(kafkaCA)

	for _, tc := range []struct {
		product     kv.Product
		id, file    string
		listener    string
		extra       map[string]string
		servedNames []string
	}{
		{kv.ProductKsqlDB, "ksql-1", "ksql-server.properties", "https://0.0.0.0:8088",
			map[string]string{"authentication.method": "BASIC", "authentication.realm": "KsqlServer-Props", "authentication.roles": "user"},
			[]string{"ksql-1.test.local", "ksqldb." + Namespace("ksql-1") + ".svc", "ksqldb-0.ksqldb-headless." + Namespace("ksql-1") + ".svc"}},
		{kv.ProductConnect, "conn-1", "connect-distributed.properties", "https://0.0.0.0:8083",
			map[string]string{"rest.advertised.listener": "https", "producer.security.protocol": "SSL", "consumer.ssl.truststore.location": tlsTruststore,
				"rest.extension.classes": "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"},
			[]string{"conn-1.test.local", "connect-1.connect-headless." + Namespace("conn-1") + ".svc"}},
	} {
		psc := &kv.PSC{SchemaVersion: kv.SchemaVersion, ID: tc.id, Satellite: "sat", Product: tc.product, Generation: 1,
			Spec: kv.PSCSpec{Version: "3.9.0", Replicas: 2, Storage: kv.Storage{SizeGiB: 10}, Kafka: &kv.KafkaRef{ID: "pkc-1"}}}
		st := converge(t, p, b, psc)
		ns := Namespace(tc.id)
		cfg := props(getConfig(t, cs, ns, string(tc.product)+"-config")[tc.file])
		want := map[string]string{
			"listeners":               tc.listener,
			"bootstrap.servers":       "kafka-broker-headless." + Namespace("pkc-1") + ".svc:9094",
			"security.protocol":       "SSL",
			"ssl.truststore.type":     "PEM",
			"ssl.truststore.location": tlsTruststore,
			"ssl.keystore.type":       "PEM",
			"ssl.keystore.location":   tlsKeystore,
		}
		for k, v := range tc.extra {
			want[k] = v
		}
		for k, v := range want {
			if cfg[k] != v {
				t.Errorf("%s: %s = %q, want %q", tc.product, k, cfg[k], v)
			}
		}
		sec := getSecret(t, cs, ns, tlsSecretName(tc.product))
		if string(sec.Data[fileCA]) != string(kafkaCA) || st.CACertificate != string(kafkaCA) {
			t.Fatalf("%s does not trust its Kafka's CA", tc.product)
		}
		if _, ok := sec.Data[keyCAKey]; ok {
			t.Fatal("the CA's key left its Secret")
		}
		cert, err := parseCertPEM(sec.Data[fileCert])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range tc.servedNames {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("%s: %s: %v", tc.product, name, err)
			}
		}
		if strings.Contains(cert.Subject.String(), "OU=kafka") {
			t.Fatalf("%s has the Kafka nodes' (super user) principal", tc.product)
		}
		pod := getSet(t, cs, ns, string(tc.product)).Spec.Template.Spec
		if !strings.Contains(strings.Join(pod.Containers[0].Command, " "), "headless."+ns+".svc") {
			t.Errorf("%s does not advertise its pod's name", tc.product)
		}
		checkRESTAuth(t, cs, ns, tc.product, pod)
	}
}

func TestKafkaThatCannotRunIsATerminalError(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)

	old := testPSC(1, 3)
	old.Spec.Version = "3.7.2"
	if st := converge(t, p, b, old); st.Phase != kv.PhaseFailed || st.Reason != "UnsupportedVersion" || !strings.Contains(st.Message, "3.8, 3.9, 4.0") {
		t.Fatalf("unsupported version: %s %s %q", st.Phase, st.Reason, st.Message)
	}
	managed := testPSC(2, 3)
	managed.Spec.Config["super.users"] = "User:ANONYMOUS"
	if st := converge(t, p, b, managed); st.Phase != kv.PhaseFailed || st.Reason != "InvalidConfiguration" {
		t.Fatalf("a managed key in the desired configuration: %s %s %q", st.Phase, st.Reason, st.Message)
	}
	bad := testPSC(3, 3)
	bad.Spec.Config["log.retention.millis"] = "1000" // not a key Kafka defines
	st := converge(t, p, b, bad)
	if st.Phase != kv.PhaseFailed || st.Reason != "InvalidConfiguration" || !strings.Contains(st.Message, "log.retention.millis") {
		t.Fatalf("invalid configuration: %s %s %q", st.Phase, st.Reason, st.Message)
	}
	if w := writes(cs.Actions()); len(w) != 0 {
		t.Fatalf("what cannot run was applied: %v", w)
	}
	if st := converge(t, p, b, testPSC(4, 3)); st.Phase == kv.PhaseFailed {
		t.Fatalf("a valid desired state after invalid ones: %s %q", st.Reason, st.Message)
	}
}

// TestKafkaBrokersServedCertificates: the satellite observes each broker's certificate
// through its advertised name (mapped by the injected dialer), and a Kafka it cannot
// reach is a condition, not an error.
func TestKafkaBrokersServedCertificates(t *testing.T) {
	cs, dyn := fake.NewClientset(), simkube.NewDynamic(CustomResources)
	b := testBucket(t)
	p := newParts(t, cs, dyn, b)
	ctx := context.Background()
	converge(t, p, b, testPSC(1, 3))
	ns := Namespace("pkc-1")
	sec := getSecret(t, cs, ns, tlsSecretName(kv.ProductKafka))
	pair, err := tls.X509KeyPair(sec.Data[fileCert], sec.Data[fileKey])
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	var dialed atomic.Int32
	p.op.kafka = newKafkaAdmins(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed.Add(1)
		if strings.HasSuffix(addr, ".pkc-1.test.local:9092") {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		}
		return nil, errors.New("no such host")
	}, p.op.log)
	defer p.op.kafka.closeAll()

	// No broker ready yet: nothing is dialed.
	if err := p.op.reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if c := p.pub.pending["sat.kafka.pkc-1"].Condition(conditionKafkaReachable); c == nil || c.Status != "False" || dialed.Load() > 0 {
		t.Fatalf("before any broker is ready: %+v, dialed %d", c, dialed.Load())
	}
	sts := getSet(t, cs, ns, "kafka-broker")
	sts.Status.ReadyReplicas = 3
	if _, err := cs.AppsV1().StatefulSets(ns).UpdateStatus(ctx, sts, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if err := p.op.reconcile(ctx, "pkc-1"); err != nil {
			return err
		}
		st := p.pub.pending["sat.kafka.pkc-1"]
		c := st.Condition(conditionKafkaReachable)
		if c == nil || c.Status != "True" || c.Reason != "Reachable" || len(st.Brokers) != 3 {
			return fmt.Errorf("condition %+v, brokers %+v", c, st.Brokers)
		}
		for i, br := range st.Brokers {
			if br.ID != 1000+int32(i) || br.Host != fmt.Sprintf("b%d.pkc-1.test.local", i) || br.CertificateSerial != st.CertificateSerial {
				return fmt.Errorf("broker %+v, issued %s", br, st.CertificateSerial)
			}
		}
		return nil
	})
	// Unreachable: a condition with the reason; the reconcile itself succeeds.
	ln.Close()
	p.op.kafka.dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("connection refused") }
	if err := p.op.reconcile(ctx, "pkc-1"); err != nil {
		t.Fatal(err)
	}
	if c := p.pub.pending["sat.kafka.pkc-1"].Condition(conditionKafkaReachable); c == nil || c.Status != "False" || c.Reason != "Unreachable" {
		t.Fatalf("unreachable: %+v", c)
	}
}

// checkRESTAuth: the worker's REST endpoint (HTTPS) authenticates with HTTP basic auth. Its
// JAAS file (in the configuration) names the login module its product reads (ksqlDB: the
// realm of authentication.realm, Jetty's PropertyFileLoginModule; Connect: the KafkaConnect
// entry of BasicAuthSecurityRestExtension) with the users file from the rest-users Secret,
// which the pod mounts there and which starts with no user a request can name (every
// request refused); the
// JVM is told where the JAAS file is. Only shown statically: no ksqlDB or Connect runs here.
func checkRESTAuth(t *testing.T, cs *fake.Clientset, ns string, product kv.Product, pod corev1.PodSpec) {
	t.Helper()
	cfg := getConfig(t, cs, ns, string(product)+"-config")
	jaas := cfg[restJAASFile]
	entry, module, optsEnv := "KsqlServer-Props {", "org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required", "KSQL_OPTS"
	if product == kv.ProductConnect {
		entry, module, optsEnv = "KafkaConnect {", "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required", "KAFKA_OPTS"
	}
	usersFile := restUsersDir + "/" + restUsersFile
	if !strings.HasPrefix(jaas, entry) || !strings.Contains(jaas, module) || !strings.Contains(jaas, `file="`+usersFile+`"`) {
		t.Errorf("%s: JAAS file:\n%s", product, jaas)
	}
	c := pod.Containers[0]
	var opts string
	for _, e := range c.Env {
		if e.Name == optsEnv {
			opts = e.Value
		}
	}
	if opts != "-Djava.security.auth.login.config="+kafkaConfigDir+"/"+restJAASFile {
		t.Errorf("%s: %s = %q", product, optsEnv, opts)
	}
	var mounted bool
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if m.Name == v.Name && m.MountPath == restUsersDir && v.Secret != nil && v.Secret.SecretName == restUsersSecret {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("%s: the rest-users Secret is not mounted at %s", product, restUsersDir)
	}
	// ksqlDB's starts empty. Connect's must not (its login module admits every request
	// when the file has no user): it holds one user whose name has a colon, which no
	// basic-auth header can name.
	want := ""
	if product == kv.ProductConnect {
		want = "# Connect admits every request when this file has no user: this one no request can name.\norbit\\:refuse-all: -\n"
	}
	users := getSecret(t, cs, ns, restUsersSecret)
	if data, ok := users.Data[restUsersFile]; !ok || string(data) != want {
		t.Errorf("%s: the users file starts with %q", product, data)
	}
}
