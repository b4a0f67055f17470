package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/kubetest"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestSatelliteWithLeastPrivilege runs a satellite with nothing but the ServiceAccount and
// ClusterRole of deploy/satellite/rbac.yaml against a real API server (which authorizes
// with RBAC), and has it create and delete a cluster: the role names all it needs.
func TestSatelliteWithLeastPrivilege(t *testing.T) {
	kube := kubetest.Start(t)
	ctx := context.Background()
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		applyManifests(t, kube, filepath.Join("..", "..", "deploy", "satellite", f))
	}
	tok, err := kube.Client.CoreV1().ServiceAccounts("orbit-system").CreateToken(ctx, "orbit-satellite",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["k"] = &clientcmdapi.Cluster{Server: kube.Config.Host, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["satellite"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["k"] = &clientcmdapi.Context{Cluster: "k", AuthInfo: "satellite"}
	cfg.CurrentContext = "k"
	path := filepath.Join(t.TempDir(), "satellite.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, withRetention(2*time.Second))
	e.startRealSatellite("us-west-2", &kubetest.Cluster{Kubeconfig: path})
	c0, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "least", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("least", 120*time.Second, readyWith(3))
	if _, err := e.client.RotateCertificates(ctx, "least"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("least", 60*time.Second, readyWith(3))
	// A bigger disk: claims patched (the class allows expansion), the StatefulSet deleted
	// orphaning its pods and applied again.
	ops := e.clientAs("ops", api.RoleOperator)
	if _, err := ops.SetProfile(ctx, "kafka", "dedicated", api.ProfileSpec{Version: "3.9.0", ReplicasPerCKU: 3, Controllers: 3, StorageGiB: 1000,
		Config: map[string]string{"default.replication.factor": "3", "min.insync.replicas": "2"}}); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 60*time.Second, func() error {
		pvc, err := kube.Client.CoreV1().PersistentVolumeClaims("orbit-p"+c0.ID[1:]).Get(ctx, "data-kafka-broker-0", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1000Gi" {
			return errors.New("claim asks for " + q.String())
		}
		return nil
	})
	e.waitFor("least", 60*time.Second, readyWith(3))
	if _, err := e.client.DeleteCluster(ctx, "least"); err != nil {
		t.Fatal(err)
	}
	// Deleted, then purged once the (short) retention passes: volumes and namespace go.
	c := e.waitFor("least", 60*time.Second, phaseIs(api.PhaseDeleted))
	testkit.CheckFor(t, 60*time.Second, func() error {
		c, err := e.client.GetCluster(ctx, "least")
		if err != nil {
			return err
		}
		if c.Status.Reason != "purged: workloads and volumes removed" {
			return errors.New("not purged yet: " + c.Status.Reason)
		}
		return nil
	})
	ns := "orbit-p" + c.ID[1:]
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, err := kube.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
			return errors.New("namespace still there")
		}
		return nil
	})
}

// applyManifests creates the objects of a multi-document YAML file.
func applyManifests(t *testing.T, kube *kubetest.Cluster, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	ctx := context.Background()
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = kube.Client.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = kube.Client.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = kube.Client.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = kube.Client.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: unexpected %T", path, obj)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}
