// Package kubetest runs a real Kubernetes control plane for end-to-end tests, without a
// container runtime: etcd (Debian's etcd-server), kube-apiserver, kube-controller-manager
// and kube-scheduler at a pinned version built from the Go module proxy (install.sh), and
// kwok playing the kubelets of a few fake nodes, one per zone. Volumes come from the
// controller manager's host-path provisioner; a small load-balancer controller gives
// LoadBalancer services an address, as a cloud's would. It is test-only: nothing outside
// tests imports it.
package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/orbitcp/orbit/satellite/simkafka"
	"github.com/orbitcp/orbit/satellite/simkube"
	"github.com/orbitcp/orbit/tests/testkit"
)

// Zones are the zones of the fake nodes.
var Zones = []string{"zone-a", "zone-b", "zone-c"}

// StorageClass is the default storage class, provisioned from host paths. It allows
// volume expansion; nothing in the harness resizes volumes, so a test that grows a claim
// plays the resizer (PlayVolumeResizer).
const StorageClass = "standard"

// Cluster is a running control plane.
type Cluster struct {
	// Kubeconfig is a kubeconfig file with cluster-admin rights.
	Kubeconfig string
	// Config and Client have cluster-admin rights.
	Config *rest.Config
	Client kubernetes.Interface
	// AuditLog records every request the API server served (JSON lines).
	AuditLog string

	dir    string
	mu     sync.Mutex
	procs  []*proc
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// BinDir is where install.sh puts the binaries (ORBIT_KUBE_BIN overrides).
func BinDir() string {
	if d := os.Getenv("ORBIT_KUBE_BIN"); d != "" {
		return d
	}
	root := os.Getenv("ORBIT_TOOLS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "orbit", "tools")
	}
	return filepath.Join(root, "kube-v1.34.4-kwok-v0.7.0", "bin")
}

// Available reports why the harness cannot run here, or "" if it can.
func Available() string {
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, err := os.Stat(filepath.Join(BinDir(), b)); err != nil {
			return fmt.Sprintf("%s not found in %s: run tests/kubetest/install.sh", b, BinDir())
		}
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		return "etcd not found: apt-get install etcd-server (tests/deps.sh does)"
	}
	return ""
}

// Require skips the test when the harness cannot run, except in CI, where it fails.
func Require(t testing.TB) {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
}

// Start runs a control plane for the test and stops it when the test ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	c, err := start(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Log(err)
		}
		if t.Failed() {
			c.dumpLogs(t)
		}
	})
	return c
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartAPIServer starts only etcd and kube-apiserver in dir, the way a hub cluster of a
// Kubernetes-based fleet manager runs them: etcd syncs every write to disk and there is no
// audit log. The benchmark's baseline uses it; Stop it when done.
func StartAPIServer(dir string) (*Cluster, error) { return start(dir, true) }

func start(dir string, hubOnly bool) (*Cluster, error) {
	c := &Cluster{dir: dir}
	if !hubOnly {
		c.AuditLog = filepath.Join(dir, "audit.log")
	}
	ok := false
	defer func() {
		if !ok {
			_ = c.Stop()
		}
	}()
	ports := make([]int, 6)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]

	// etcd.
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	etcdArgs := []string{"--data-dir", filepath.Join(dir, "etcd"), "--name", "default",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default=" + peerURL}
	if !hubOnly {
		etcdArgs = append(etcdArgs, "--unsafe-no-fsync") // tests: speed over durability
	}
	if err := c.run("etcd", "etcd", etcdArgs...); err != nil {
		return nil, err
	}
	if err := waitHTTP(etcdURL+"/health", "", 30*time.Second); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}

	// Credentials: an admin token, a service-account signing key.
	token := randomHex(16)
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return nil, err
	}
	auditPolicy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(auditPolicy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"), 0o600); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "pki")
	bin := BinDir()
	apiArgs := []string{"--etcd-servers", etcdURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort), "--cert-dir", certDir, "--token-auth-file", tokenFile,
		"--authorization-mode", "RBAC", "--service-cluster-ip-range", "10.96.0.0/16",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--service-account-issuer", "https://kubernetes.default.svc", "--api-audiences", "https://kubernetes.default.svc",
		// Debian's etcd is too old for watch progress requests: streaming lists would start
		// and then break, leaving clients (kwok's) seconds behind. Without the feature,
		// clients fall back to list and watch at once.
		"--feature-gates", "WatchList=false"}
	if !hubOnly {
		apiArgs = append(apiArgs, "--audit-policy-file", auditPolicy, "--audit-log-path", c.AuditLog, "--audit-log-mode", "blocking")
	}
	if err := c.run("kube-apiserver", filepath.Join(bin, "kube-apiserver"), apiArgs...); err != nil {
		return nil, err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := waitHTTP(host+"/readyz", token, 60*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	c.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 200, Burst: 400}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, host, token); err != nil {
		return nil, err
	}
	var err error
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	if hubOnly {
		ok = true
		return c, nil
	}

	if err := c.run("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--leader-elect=false", "--secure-port", strconv.Itoa(cmPort), "--bind-address", "127.0.0.1",
		"--service-account-private-key-file", saKey, "--root-ca-file", filepath.Join(certDir, "apiserver.crt"),
		"--use-service-account-credentials=false", "--enable-hostpath-provisioner",
		"--controllers", "*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller"); err != nil {
		return nil, err
	}
	if err := c.run("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--leader-elect=false", "--secure-port", strconv.Itoa(schedPort), "--bind-address", "127.0.0.1"); err != nil {
		return nil, err
	}
	if err := c.run("kwok", filepath.Join(bin, "kwok"), "--kubeconfig", c.Kubeconfig,
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		// Node leases: without them kwok's only heartbeat is a status update about every 50
		// s, as long as the controller manager's grace period, and the node lifecycle
		// controller marks every pod not ready when it sees one late.
		"--node-lease-duration-seconds", "40",
		"--cidr", "10.244.0.1/16", "--node-ip", "10.0.0.1", "--server-address", "127.0.0.1:"+strconv.Itoa(kwokPort)); err != nil {
		return nil, err
	}
	if err := c.seed(context.Background()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		simkube.RunLoadBalancers(ctx, c.Client, time.Second)
	}()
	ok = true
	return c, nil
}

// seed creates the nodes (one per zone) and the default storage class.
func (c *Cluster) seed(ctx context.Context) error {
	for i, zone := range Zones {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        fmt.Sprintf("node-%d", i),
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
				Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": fmt.Sprintf("node-%d", i),
					"topology.kubernetes.io/zone": zone, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
			},
			Status: corev1.NodeStatus{
				Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("200")},
				Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("200")},
			},
		}
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	del, expand := corev1.PersistentVolumeReclaimDelete, true
	sc := &storagev1.StorageClass{
		ObjectMeta:    metav1.ObjectMeta{Name: StorageClass, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:   "kubernetes.io/host-path",
		ReclaimPolicy: &del,
		// Claims of this class may grow (the API server's resize admission checks it).
		AllowVolumeExpansion: &expand,
	}
	if _, err := c.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("storage class: %w", err)
	}
	return nil
}

func (c *Cluster) run(name, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Dir = c.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, &proc{name: name, cmd: cmd, log: &log})
	c.mu.Unlock()
	return nil
}

// Stop stops every process, the API server before etcd (it hangs otherwise).
func (c *Cluster) Stop() error {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = p.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _, _ = p.cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
			errs = append(errs, fmt.Errorf("%s did not stop in time", p.name))
		}
	}
	return errors.Join(errs...)
}

func (c *Cluster) dumpLogs(t testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		out := p.log.String()
		if len(out) > 4000 {
			out = out[len(out)-4000:]
		}
		t.Logf("--- %s (tail)\n%s", p.name, out)
	}
}

func waitHTTP(url, token string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	err := testkit.PollEvery(timeout, 100*time.Millisecond, func() error {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready after %v: %w", url, timeout, err)
	}
	return nil
}

func writeKubeconfig(path, host, token string) error {
	cfg := clientcmdConfig(host, token)
	return clientcmd.WriteToFile(*cfg, path)
}

func writeRSAKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RunKafka runs a simkafka fleet against the cluster until the test ends: Kafka broker pods
// that kwok reports ready become kfake brokers, and the Kafka LoadBalancer services get the
// harness's loopback addresses as their ingress (replacing the placeholder pool's).
func (c *Cluster) RunKafka(t testing.TB) *simkafka.Fleet {
	t.Helper()
	fleet := simkafka.NewFleet(nil)
	ctx, cancel := context.WithCancel(context.Background())
	k := &simkafka.Kube{Client: c.Client, Fleet: fleet, Pods: true}
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.Run(ctx, 200*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		fleet.Close()
	})
	return fleet
}

// PlayVolumeResizer plays the volume resizer of a cloud's CSI driver until the test ends:
// a claim in ns that asks for more storage than its status holds gets that capacity, as
// if its volume and file system had grown.
func (c *Cluster) PlayVolumeResizer(t testing.TB, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			claims, err := c.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue
			}
			for i := range claims.Items {
				pvc := &claims.Items[i]
				want, have := pvc.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Status.Capacity[corev1.ResourceStorage]
				if pvc.Status.Phase != corev1.ClaimBound || want.Cmp(have) <= 0 {
					continue
				}
				pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: want}
				pvc.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: want}
				_, _ = c.Client.CoreV1().PersistentVolumeClaims(ns).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}
