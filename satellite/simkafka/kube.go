package simkafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// What the satellite renders for a Kafka cluster (satellite/render.go, kafka.go, tls.go).
// They are repeated here, not imported: the satellite's own tests run simkube, which runs
// this package.
const (
	labelProduct   = "orbit.dev/product"
	labelCluster   = "orbit.dev/cluster"
	labelComponent = "app.kubernetes.io/component"
	brokerSet      = "kafka-broker"
	bootstrapSvc   = "kafka-bootstrap"
	configMap      = "kafka-config"
	kafkaImage     = "apache/kafka"
	// TLSSecret holds the keystore (keystore.pem: key, certificate, CA).
	TLSSecret = "kafka-tls"
	// SuperuserSecret holds the satellite's SCRAM super user (keys username and password).
	SuperuserSecret = "kafka-superuser"
)

// Kube runs a Fleet from the objects a satellite renders, on any Kubernetes client: one
// fleet cluster per broker StatefulSet, its brokers those whose pods are ready, its names
// the CLIENT hosts of each broker's advertised.listeners (ConfigMap kafka-config), its
// secrets read from the cluster's namespace (Secrets kafka-tls and kafka-superuser), and the
// LoadBalancer services kafka-bootstrap and kafka-broker-<i> given the harness's addresses
// as their ingress. It is level-based: each Step re-reads everything.
type Kube struct {
	Client kubernetes.Interface
	Fleet  *Fleet
	// Pods takes readiness from the broker pods (a real API server, kwok running them);
	// otherwise broker i is ready when the StatefulSet reports more than i ready replicas
	// (simkube has no pods).
	Pods bool
	// AdvertiseAddresses makes brokers and kfake's controller node advertise their loopback
	// addresses rather than their DNS names (dev mode: nothing on a developer's machine
	// resolves the satellite's domain or the cluster's in-cluster names, yet a client sends
	// CreateTopics to the controller node); the names still resolve through the Fleet, for
	// the satellite itself.
	AdvertiseAddresses bool
	Log                *slog.Logger
}

// Run steps every interval until ctx ends.
func (k *Kube) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := k.Step(ctx); err != nil && ctx.Err() == nil {
			k.log().Debug("simkafka: step", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (k *Kube) log() *slog.Logger {
	if k.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return k.Log
}

// Claims reports whether the harness gives svc its ingress, so that a load-balancer
// simulation leaves it alone.
func (k *Kube) Claims(svc *corev1.Service) bool {
	_, ok := serviceOrdinal(svc)
	return ok && svc.Labels[labelProduct] == "kafka"
}

// serviceOrdinal is what a Kafka LoadBalancer service points at.
func serviceOrdinal(svc *corev1.Service) (int, bool) {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return 0, false
	}
	if svc.Name == bootstrapSvc {
		return BootstrapOrdinal, true
	}
	if rest, ok := strings.CutPrefix(svc.Name, brokerSet+"-"); ok {
		if i, err := strconv.Atoi(rest); err == nil && i >= 0 {
			return i, true
		}
	}
	return 0, false
}

// Step converges the fleet on the objects once.
func (k *Kube) Step(ctx context.Context) error {
	sets, err := k.Client.AppsV1().StatefulSets("").List(ctx, metav1.ListOptions{LabelSelector: labelProduct + "=kafka"})
	if err != nil {
		return err
	}
	live := map[string]bool{}
	var errs []error
	for _, sts := range sets.Items {
		id := sts.Labels[labelCluster]
		if sts.Name != brokerSet || id == "" || sts.DeletionTimestamp != nil {
			continue
		}
		live[id] = true
		if err := k.stepCluster(ctx, id, sts.Namespace, sts.Status.ReadyReplicas, kafkaVersion(&sts.Spec.Template.Spec)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	for _, id := range k.Fleet.IDs() {
		if !live[id] {
			k.Fleet.Remove(id)
		}
	}
	return errors.Join(errs...)
}

func (k *Kube) stepCluster(ctx context.Context, id, ns string, readyReplicas int32, version string) error {
	c, ok := k.Fleet.Get(id)
	if !ok {
		var err error
		c, err = k.Fleet.Add(Config{ID: id, Secrets: kubeSecrets{client: k.Client, ns: ns},
			ControllerHost:     "kafka-controller-0.kafka-controller-headless." + ns + ".svc",
			AdvertiseAddresses: k.AdvertiseAddresses, Log: k.Log, KafkaVersion: version})
		if err != nil {
			return err
		}
	}
	c.SetKafkaVersion(version)
	if err := k.registerNames(ctx, c, ns); err != nil {
		return err
	}
	ready, err := k.ready(ctx, id, ns, readyReplicas)
	if err != nil {
		return err
	}
	if err := c.SyncBrokers(ctx, ready); err != nil && !errors.Is(err, ErrNotReady) {
		return err
	} else if err != nil {
		k.log().Debug("simkafka: brokers wait", "cluster", id, "error", err)
	}
	return k.assignIngress(ctx, c, ns)
}

// kafkaVersion is the Kafka version of a broker pod template: the tag of its
// apache/kafka image ("" if none).
func kafkaVersion(pod *corev1.PodSpec) string {
	for _, c := range pod.Containers {
		if v, ok := strings.CutPrefix(c.Image, kafkaImage+":"); ok {
			return v
		}
	}
	return ""
}

// registerNames registers each broker's advertised CLIENT host.
func (k *Kube) registerNames(ctx context.Context, c *Cluster, ns string) error {
	cm, err := k.Client.CoreV1().ConfigMaps(ns).Get(ctx, configMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for key, props := range cm.Data {
		rest, ok := strings.CutPrefix(key, "broker-") // broker-<i>.properties
		if !ok {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSuffix(rest, ".properties"))
		if err != nil {
			continue
		}
		if host := clientHost(props); host != "" {
			c.Register(host, i) // an alias only, when the cluster advertises addresses
		}
	}
	return nil
}

// clientHost is the host of the CLIENT listener in a properties file's advertised.listeners.
func clientHost(props string) string {
	for line := range strings.Lines(props) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "advertised.listeners=")
		if !ok {
			continue
		}
		for l := range strings.SplitSeq(v, ",") {
			if hp, ok := strings.CutPrefix(l, "CLIENT://"); ok {
				if i := strings.LastIndexByte(hp, ':'); i > 0 {
					return hp[:i]
				}
			}
		}
	}
	return ""
}

// ready returns the ordinals of the ready brokers.
func (k *Kube) ready(ctx context.Context, id, ns string, readyReplicas int32) ([]int, error) {
	var out []int
	if !k.Pods {
		for i := range int(readyReplicas) {
			out = append(out, i)
		}
		return out, nil
	}
	sel := labels.SelectorFromSet(labels.Set{labelCluster: id, labelComponent: brokerSet}).String()
	pods, err := k.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		rest, ok := strings.CutPrefix(p.Name, brokerSet+"-")
		i, err := strconv.Atoi(rest)
		if !ok || err != nil || p.DeletionTimestamp != nil || !podReady(&p) {
			continue
		}
		out = append(out, i)
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// assignIngress gives each Kafka LoadBalancer service the address of what it points at,
// once that runs.
func (k *Kube) assignIngress(ctx context.Context, c *Cluster, ns string) error {
	svcs, err := k.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var errs []error
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		ordinal, ok := serviceOrdinal(svc)
		if !ok {
			continue
		}
		// The name external-dns would publish for this load balancer resolves to it here.
		if host := svc.Annotations[externalDNSHostname]; host != "" {
			c.Alias(host, ordinal)
		}
		addr, ok := c.Addr(ordinal)
		if !ok {
			continue
		}
		ip := strings.Split(addr, ":")[0]
		if in := svc.Status.LoadBalancer.Ingress; len(in) == 1 && in[0].IP == ip {
			continue
		}
		body := fmt.Appendf(nil, `{"status":{"loadBalancer":{"ingress":[{"ip":%q}]}}}`, ip)
		_, err := k.Client.CoreV1().Services(ns).Patch(ctx, svc.Name, types.MergePatchType, body,
			metav1.PatchOptions{FieldManager: "simkafka"}, "status")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// externalDNSHostname is the annotation by which external-dns publishes a Service's name.
const externalDNSHostname = "external-dns.alpha.kubernetes.io/hostname"

// kubeSecrets reads a cluster's secrets from its namespace.
type kubeSecrets struct {
	client kubernetes.Interface
	ns     string
}

func (s kubeSecrets) Superuser(ctx context.Context) (string, string, error) {
	sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, SuperuserSecret, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	return string(sec.Data["username"]), string(sec.Data["password"]), nil
}

func (s kubeSecrets) Keystore(ctx context.Context) ([]byte, error) {
	sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, TLSSecret, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if ks := sec.Data["keystore.pem"]; len(ks) > 0 {
		return ks, nil
	}
	return append(append([]byte{}, sec.Data["tls.key"]...), sec.Data["tls.crt"]...), nil
}
