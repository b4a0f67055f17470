package satellite

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
)

const (
	annotationTLSSerial = "orbit.dev/tls-serial"
	// certLifetime and certRenewBefore: certificates are reissued when a third of their
	// life is left, or when the PSC's TLS serial changes.
	certLifetime    = 90 * 24 * time.Hour
	certRenewBefore = 30 * 24 * time.Hour
)

func tlsSecretName(p kv.Product) string { return string(p) + "-tls" }

// tlsSecret keeps the cluster's certificate Secret current. It is written only when it is
// missing, when the serial asks for a rotation, or when the certificate nears its end: a
// certificate is random, so rewriting it on every reconcile would be a change each time. A
// rotation touches the Secret alone, never a pod template, so nothing restarts.
func (r *renderer) tlsSecret(o *PSCObject, ns string, labels map[string]string, names []string) func(context.Context, *kube) (bool, error) {
	name := tlsSecretName(o.Spec.Product)
	serial := strconv.FormatInt(o.Spec.TLSSerial, 10)
	return func(ctx context.Context, k *kube) (bool, error) {
		live, err := k.secrets.Secrets(ns).Get(name)
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		if err == nil && live.Annotations[annotationTLSSerial] == serial && certValid(live.Data["tls.crt"], time.Now().Add(certRenewBefore)) &&
			live.Labels[LabelCluster] == o.Name {
			return false, nil
		}
		data, err := issueCertificate(o.Name, names, time.Now())
		if err != nil {
			return false, err
		}
		ac := corev1ac.Secret(name, ns).WithLabels(labels).WithAnnotations(map[string]string{annotationTLSSerial: serial}).
			WithType(corev1.SecretTypeOpaque).WithData(data)
		_, err = k.client.CoreV1().Secrets(ns).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		return err == nil, err
	}
}

// certValid reports whether the PEM certificate is still valid at t.
func certValid(pemBytes []byte, t time.Time) bool {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	return err == nil && t.Before(cert.NotAfter)
}

// issueCertificate makes a cluster CA and a server certificate for names: ca.crt, tls.crt,
// tls.key and keystore.pem (key and chain, Kafka's PEM keystore).
func issueCertificate(cluster string, names []string, now time.Time) (map[string][]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial := func() *big.Int { n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)); return n }
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cluster + " CA", Organization: []string{"orbit"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cluster, Organization: []string{"orbit"}}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	crtPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return map[string][]byte{
		"ca.crt": caPEM, "tls.crt": crtPEM, "tls.key": keyPEM,
		"keystore.pem": bytes.Join([][]byte{keyPEM, crtPEM, caPEM}, nil),
	}, nil
}
