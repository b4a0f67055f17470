package helm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/mothership"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
	"github.com/orbitcp/orbit/tests/testkit/hubtest"
	"github.com/orbitcp/orbit/tests/tlstest"
)

const (
	namespace = "orbit-system"
	release   = "orbit"
	chart     = "../../deploy/helm/orbit"
	satChart  = "../../deploy/helm/orbit-satellite"
	satName   = "us-west-2"
)

// satelliteValues are what the satellite chart needs besides its defaults.
var satelliteValues = []string{"--set", "satellite.name=" + satName, "--set", "satellite.region=us-west-2",
	"--set", "hub.urls[0]=nats-leaf://orbit-leaf." + namespace + ".svc:7422", "--set", "hub.tls.caSecretName=orbit-leaf-tls"}

// TestVersionsAgree: the charts' appVersion, the kustomize manifest's image and the
// repository's VERSION (the images' tag) are one version.
func TestVersionsAgree(t *testing.T) {
	v, err := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(v))
	for _, c := range []string{chart, satChart} {
		var meta struct {
			AppVersion string `json:"appVersion"`
		}
		b, _ := os.ReadFile(filepath.Join(c, "Chart.yaml"))
		if err := yaml.Unmarshal(b, &meta); err != nil || meta.AppVersion != version {
			t.Errorf("%s: appVersion %q, VERSION %q (%v)", c, meta.AppVersion, version, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(repoRoot, "deploy", "satellite", "deployment.yaml"))
	if n := strings.Count(string(b), "ghcr.io/orbitcp/satellite:"+version); n != 2 {
		t.Errorf("deploy/satellite/deployment.yaml names ghcr.io/orbitcp/satellite:%s %d times, want 2 (image and --image)", version, n)
	}
	if strings.Contains(string(b), ":latest") {
		t.Error("deploy/satellite/deployment.yaml still names a :latest image")
	}
}

// TestSatelliteChartMatchesManifests: the satellite chart's CRD and ClusterRole are the
// ones the satellite installs and deploy/satellite grants (which the end-to-end suite
// checks against a real API server).
func TestSatelliteChartMatchesManifests(t *testing.T) {
	setupHelm(t)
	crd, _ := os.ReadFile(filepath.Join(repoRoot, "satellite", "psc.crd.yaml"))
	chartCRD, _ := os.ReadFile(filepath.Join(satChart, "crds", "psc.crd.yaml"))
	if len(crd) == 0 || !bytes.Equal(crd, chartCRD) {
		t.Error("deploy/helm/orbit-satellite/crds/psc.crd.yaml differs from satellite/psc.crd.yaml: copy it over")
	}
	rendered := runHelm(t, "", append([]string{"template", "sat", satChart, "-n", namespace}, satelliteValues...)...)
	var chartRole, manifestRole *rbacv1.ClusterRole
	for _, doc := range splitYAML(rendered) {
		if strings.Contains(doc, "kind: ClusterRole\n") {
			chartRole = &rbacv1.ClusterRole{}
			if err := yaml.Unmarshal([]byte(doc), chartRole); err != nil {
				t.Fatal(err)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(repoRoot, "deploy", "satellite", "rbac.yaml"))
	for _, doc := range splitYAML(string(b)) {
		if strings.Contains(doc, "kind: ClusterRole\n") {
			manifestRole = &rbacv1.ClusterRole{}
			if err := yaml.Unmarshal([]byte(doc), manifestRole); err != nil {
				t.Fatal(err)
			}
		}
	}
	if chartRole == nil || manifestRole == nil || !reflect.DeepEqual(chartRole.Rules, manifestRole.Rules) {
		t.Errorf("the chart's ClusterRole rules differ from deploy/satellite/rbac.yaml's")
	}
}

// TestChartSchemaRefusesBadValues: the values schema names the bad field; nothing renders.
func TestChartSchemaRefusesBadValues(t *testing.T) {
	setupHelm(t)
	for set, field := range map[string]string{
		"hub.replicas=0":                   "/hub/replicas",
		"mothership.leaseTTL=soon":         "/mothership/leaseTTL",
		"service.api.type=Public":          "/service/api/type",
		"postgres.secretName=Not_A_Secret": "/postgres/secretName",
		"mothership.replica=3":             "replica",
		"hub.replicas=1":                   "mothership.bucketReplicas",
	} {
		out, err := tryHelm("", "template", release, chart, "--set", set)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("--set %s: rendered (%d bytes) or error does not name %s: %v", set, len(out), field, err)
		}
	}
	if _, err := tryHelm("", "template", "sat", satChart, "--set", "hub.urls[0]=nats-leaf://hub:7422", "--set", "satellite.region=r"); err == nil || !strings.Contains(err.Error(), "satellite.name") {
		t.Errorf("satellite chart without a name: %v", err)
	}
	if _, err := tryHelm("", "template", "sat", satChart, "--set", "satellite.name=s", "--set", "satellite.region=r"); err == nil || !strings.Contains(err.Error(), "hub.urls") {
		t.Errorf("satellite chart without hub URLs: %v", err)
	}
}

// TestChartOnKubernetes installs the charts on a real API server and runs the images'
// binaries as the installed workloads say: see the steps below.
func TestChartOnKubernetes(t *testing.T) {
	pg := hubtest.PostgresURL(t)
	if pg == "" {
		t.Skip("the mothership replicas need PostgreSQL (ORBIT_TEST_POSTGRES)")
	}
	setupHelm(t)
	images := imagesDir(t)
	kube := kubetest.Start(t)
	ctx := context.Background()
	dir := t.TempDir()

	// The images: non-root, their entrypoint, their version; their binaries taken out.
	version, _ := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
	bins := map[string]string{}
	for _, name := range []string{"mothership", "satellite"} {
		bin, cf := unpack(t, filepath.Join(images, name+".tar"), dir)
		bins[name] = bin
		if cf.Config.User != "65532" || cf.Config.Entrypoint[0] != "/usr/local/bin/"+name ||
			cf.Config.Labels["org.opencontainers.image.version"] != strings.TrimSpace(string(version)) {
			t.Errorf("%s image: user %q, entrypoint %q, labels %v", name, cf.Config.User, cf.Config.Entrypoint, cf.Config.Labels)
		}
	}

	// 1. Lint.
	runHelm(t, "", "lint", "--strict", chart)
	runHelm(t, "", append([]string{"lint", "--strict", satChart}, satelliteValues...)...)

	// The namespace and the database Secret, which the operator creates before installing.
	if _, err := kube.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dsn, err := db.CreateFreshPostgres(ctx, pg, "helm_chart")
	if err != nil {
		t.Fatal(err)
	}
	createSecret(t, kube, "orbit-postgres", corev1.SecretTypeOpaque, map[string][]byte{"url": []byte(dsn)})

	// 2. Every rendered manifest passes a server-side dry run (apply, all admission).
	dryRun(t, kube, runHelm(t, "", "template", release, chart, "-n", namespace))

	// 3. Install: every workload reaches its replicas (kwok plays the kubelets).
	runHelm(t, kube.Kubeconfig, "install", release, chart, "-n", namespace, "--wait", "--timeout", "8m")
	hub := waitStatefulSet(t, kube, "orbit-hub", 3)
	waitDeployment(t, kube, "orbit-mothership", 3)
	for _, svc := range []string{"orbit-api", "orbit-hub", "orbit-leaf"} {
		if _, err := kube.Client.CoreV1().Services(namespace).Get(ctx, svc, metav1.GetOptions{}); err != nil {
			t.Errorf("service %s: %v", svc, err)
		}
	}
	keys := secretData(t, kube, "orbit-keys")

	// 4. An upgrade with changed values keeps the generated keys and rolls out the change:
	// TLS on the API and the leaf-node listener, from Secrets shaped like cert-manager's.
	ca := tlstest.NewCA(t, dir)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Issue(t, certFile, keyFile, 2)
	caPEM, _ := os.ReadFile(ca.File)
	certPEM, _ := os.ReadFile(certFile)
	keyPEM, _ := os.ReadFile(keyFile)
	for _, name := range []string{"orbit-api-tls", "orbit-leaf-tls"} {
		createSecret(t, kube, name, corev1.SecretTypeTLS, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": caPEM})
	}
	runHelm(t, kube.Kubeconfig, "upgrade", release, chart, "-n", namespace, "--wait", "--timeout", "8m",
		"--set", "mothership.leaseTTL=5s", "--set", "hub.accessInterval=1s",
		"--set", "tls.api.secretName=orbit-api-tls", "--set", "tls.leaf.secretName=orbit-leaf-tls")
	if got := secretData(t, kube, "orbit-keys"); !reflect.DeepEqual(got, keys) {
		t.Error("helm upgrade changed the generated keys")
	}
	motherships := waitDeployment(t, kube, "orbit-mothership", 3)
	if !contains(motherships.Spec.Template.Spec.Containers[0].Args, "--lease-ttl=5s") {
		t.Errorf("the upgrade's value is not in the Deployment: %q", motherships.Spec.Template.Spec.Containers[0].Args)
	}
	hub = waitStatefulSet(t, kube, "orbit-hub", 3)

	// 5. The satellite chart, its onboarding material from a Secret minted by
	// `mothership satellite add` (the images' binary).
	onboard := filepath.Join(dir, "onboard")
	if err := os.MkdirAll(onboard, 0o700); err != nil {
		t.Fatal(err)
	}
	// The control plane's credential key, as deploy/README.md takes it from orbit-keys: the
	// satellite is told its public half, the only sender whose Kafka credentials it opens.
	credKeyFile := filepath.Join(onboard, "credential-key")
	if err := os.WriteFile(credKeyFile, keys["credential-key"], 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runBin(bins["mothership"], "satellite", "add", satName, "--region", "us-west-2", "--db", dsn,
		"--credential-key", credKeyFile, "--credential-sender-file", filepath.Join(onboard, satName+".sender"),
		"--seed-file", filepath.Join(onboard, satName+".nk"), "--curve-seed-file", filepath.Join(onboard, satName+".xk"))
	if err != nil {
		t.Fatalf("satellite add: %v\n%s", err, out)
	}
	seed, _ := os.ReadFile(filepath.Join(onboard, satName+".nk"))
	curve, _ := os.ReadFile(filepath.Join(onboard, satName+".xk"))
	sender, _ := os.ReadFile(filepath.Join(onboard, satName+".sender"))
	createSecret(t, kube, "orbit-satellite-onboarding", corev1.SecretTypeOpaque, map[string][]byte{"seed": seed, "curve": curve, "sender": sender})
	dryRun(t, kube, runHelm(t, "", append([]string{"template", "orbit-satellite", satChart, "-n", namespace, "--include-crds"}, satelliteValues...)...))
	runHelm(t, kube.Kubeconfig, append([]string{"install", "orbit-satellite", satChart, "-n", namespace, "--wait", "--timeout", "8m"}, satelliteValues...)...)
	satSet := waitStatefulSet(t, kube, "orbit-satellite", 1)

	// 6. The binaries, as the workloads say. Loopback ports stand for each pod's ports and
	// the Services' DNS names.
	ports := func() map[string]string {
		m := map[string]string{}
		for _, p := range []string{"4222", "6222", "7422", "8080", "9100"} {
			m[p] = freePort(t)
		}
		return m
	}
	podPorts := map[string]map[string]string{}
	var hubPods, msPods []string
	for i := range 3 {
		hubPods = append(hubPods, fmt.Sprintf("orbit-hub-%d", i))
		msPods = append(msPods, fmt.Sprintf("orbit-mothership-%d", i))
	}
	for _, p := range append(append([]string{}, hubPods...), msPods...) {
		podPorts[p] = ports()
	}
	podPorts["orbit-satellite-0"] = ports()
	var global []string
	for _, p := range hubPods {
		for port, local := range podPorts[p] {
			global = append(global, p+".orbit-hub."+namespace+".svc:"+port, local)
		}
	}
	global = append(global, "orbit-leaf."+namespace+".svc:7422", podPorts[hubPods[0]]["7422"])
	globalRewrite := strings.NewReplacer(global...)
	runner := &podRunner{t: t, client: kube.Client, namespace: namespace, dir: filepath.Join(dir, "pods"),
		Extra: []string{"KUBECONFIG=" + kube.Kubeconfig}}
	runner.Rewrite = func(pod, arg string) string {
		for port, local := range podPorts[pod] {
			arg = strings.ReplaceAll(arg, "0.0.0.0:"+port, local)
		}
		return globalRewrite.Replace(arg)
	}
	t.Cleanup(runner.stop)

	// The hub nodes form their cluster.
	for _, p := range hubPods {
		runner.start(p, hub.Spec.Template.Spec, hub.Spec.Template.Spec.Containers[0], bins["mothership"])
	}
	// The mothership replicas: init containers in order, then the replica.
	spec := motherships.Spec.Template.Spec
	for _, p := range msPods {
		for _, c := range spec.InitContainers {
			runner.runToCompletion(p, spec, c, bins["mothership"])
		}
		runner.start(p, spec, spec.Containers[0], bins["mothership"])
	}
	operatorKey := string(keys["operator-api-key"])
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	clients := map[string]*api.Client{}
	for _, p := range msPods {
		url := "https://" + podPorts[p]["8080"]
		testkit.CheckForEvery(t, 90*time.Second, 250*time.Millisecond, func() error { return readyz(hc, url) })
		c, err := api.NewClient(url, operatorKey, hc)
		if err != nil {
			t.Fatal(err)
		}
		clients[p] = c
	}
	// One leader, one of the replicas, the same for all; the generated operator key works.
	testkit.CheckForEvery(t, 30*time.Second, 250*time.Millisecond, func() error {
		holder, leading := "", 0
		for p, c := range clients {
			l, err := c.Leader(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if l.Self != p {
				return fmt.Errorf("%s answers as %q: --replica-id is not the pod name", p, l.Self)
			}
			if holder != "" && l.Holder != holder {
				return fmt.Errorf("replicas disagree on the leader: %s, %s", holder, l.Holder)
			}
			holder = l.Holder
			if l.Leading {
				leading++
			}
		}
		if leading != 1 || !contains(msPods, holder) {
			return fmt.Errorf("leader %q, %d leading", holder, leading)
		}
		return nil
	})
	// The hub's buckets are replicated on all three nodes: the cluster formed.
	checkHubCluster(t, keys["nats-seed"], podPorts[hubPods[0]]["4222"])

	// A satellite with its onboarding Secret connects, over TLS (the hub's CA from a Secret).
	runner.start("orbit-satellite-0", satSet.Spec.Template.Spec, satSet.Spec.Template.Spec.Containers[0], bins["satellite"])
	testkit.CheckForEvery(t, 60*time.Second, 250*time.Millisecond, func() error {
		sats, err := clients[msPods[0]].ListSatellites(ctx)
		if err != nil {
			return err
		}
		for _, s := range sats {
			if s.Name == satName && s.Connected {
				return nil
			}
		}
		return fmt.Errorf("satellite %s not connected: %+v", satName, sats)
	})

	// Every hub node serves its metrics where its pod's scrape annotations say: routes to
	// the two others, the buckets' streams, and the satellite's link on one of them.
	ann := hub.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("hub pods' scrape annotations: %v", ann)
	}
	testkit.CheckForEvery(t, 30*time.Second, 250*time.Millisecond, func() error {
		leafs := 0.0
		for _, p := range hubPods {
			m, err := scrapeMetrics("http://" + podPorts[p][ann["prometheus.io/port"]] + "/metrics")
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if m["orbit_hub_route_connections"] < 2 || m["orbit_hub_jetstream_streams"] < 3 || m["go_goroutines"] == 0 {
				return fmt.Errorf("%s: routes %v, streams %v", p, m["orbit_hub_route_connections"], m["orbit_hub_jetstream_streams"])
			}
			leafs += m["orbit_hub_leafnode_connections"]
		}
		if leafs != 1 {
			return fmt.Errorf("hub nodes count %v satellite links, want 1", leafs)
		}
		return nil
	})
}

// scrapeMetrics reads a Prometheus text exposition: unlabelled series → value.
func scrapeMetrics(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m, nil
}

// checkHubCluster connects to a hub node as the motherships do (their key, derived from the
// generated Secret) and waits until the desired bucket has three current replicas.
func checkHubCluster(t *testing.T, secret []byte, addr string) {
	t.Helper()
	seed, err := mothership.KeySeed(secret, nkeys.PrefixByteUser)
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.FromSeed(seed)
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect("nats://"+addr, nats.Nkey(pub, kp.Sign))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckForEvery(t, 60*time.Second, 250*time.Millisecond, func() error {
		s, err := js.Stream(context.Background(), "KV_desired")
		if err != nil {
			return err
		}
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("KV_desired: replicas %d, cluster %+v", info.Config.Replicas, info.Cluster)
		}
		for _, p := range info.Cluster.Replicas {
			if !p.Current {
				return fmt.Errorf("peer %s not current", p.Name)
			}
		}
		return nil
	})
}

func readyz(hc *http.Client, url string) error {
	resp, err := hc.Get(url + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: HTTP %d", resp.StatusCode)
	}
	return nil
}

// dryRun applies every manifest with a server-side dry run.
func dryRun(t *testing.T, kube *kubetest.Cluster, manifests string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Client.Discovery()))
	n := 0
	for _, doc := range splitYAML(manifests) {
		obj := &unstructured.Unstructured{}
		if err := yaml.UnmarshalStrict([]byte(doc), &obj.Object); err != nil { // duplicate keys too
			t.Fatalf("%v in\n%s", err, doc)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var res dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			res = dyn.Resource(m.Resource).Namespace(namespace)
		}
		body, _ := obj.MarshalJSON()
		force := true
		if _, err := res.Patch(context.Background(), obj.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "helm-test", DryRun: []string{metav1.DryRunAll}, Force: &force}); err != nil {
			t.Errorf("server-side dry run of %s %s: %v", gvk.Kind, obj.GetName(), err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no manifests rendered")
	}
	t.Logf("server-side dry run: %d objects accepted", n)
}

func splitYAML(s string) []string {
	var docs []string
	for _, d := range strings.Split(s, "\n---") {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, strings.TrimPrefix(d, "\n"))
		}
	}
	return docs
}

func waitDeployment(t *testing.T, kube *kubetest.Cluster, name string, replicas int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	testkit.CheckForEvery(t, 2*time.Minute, 500*time.Millisecond, func() error {
		var err error
		if d, err = kube.Client.AppsV1().Deployments(namespace).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if s := d.Status; *d.Spec.Replicas != replicas || s.ObservedGeneration != d.Generation || s.UpdatedReplicas != replicas || s.ReadyReplicas != replicas || s.Replicas != replicas {
			return fmt.Errorf("deployment %s: %+v", name, s)
		}
		return nil
	})
	return d
}

func waitStatefulSet(t *testing.T, kube *kubetest.Cluster, name string, replicas int32) *appsv1.StatefulSet {
	t.Helper()
	var s *appsv1.StatefulSet
	testkit.CheckForEvery(t, 2*time.Minute, 500*time.Millisecond, func() error {
		var err error
		if s, err = kube.Client.AppsV1().StatefulSets(namespace).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		if st := s.Status; *s.Spec.Replicas != replicas || st.ObservedGeneration != s.Generation || st.ReadyReplicas != replicas || st.UpdatedReplicas != replicas || st.CurrentRevision != st.UpdateRevision {
			return fmt.Errorf("statefulset %s: %+v", name, st)
		}
		return nil
	})
	return s
}

func createSecret(t *testing.T, kube *kubetest.Cluster, name string, typ corev1.SecretType, data map[string][]byte) {
	t.Helper()
	_, err := kube.Client.CoreV1().Secrets(namespace).Create(context.Background(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: typ, Data: data}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func secretData(t *testing.T, kube *kubetest.Cluster, name string) map[string][]byte {
	t.Helper()
	s, err := kube.Client.CoreV1().Secrets(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nats-seed", "credential-key", "operator-api-key", "cluster-secret"} {
		if len(s.Data[k]) < 32 {
			t.Errorf("secret %s: key %s has %d bytes", name, k, len(s.Data[k]))
		}
	}
	return s.Data
}

func runBin(bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	return cmd.CombinedOutput()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
