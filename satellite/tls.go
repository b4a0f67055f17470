package satellite

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/satellite/internal/metrics"
)

// TLS material.
//
// Each Kafka physical cluster has one CA, created once and kept in the Secret kafka-ca of
// the cluster's namespace; its key is read by the satellite to sign and is never copied
// anywhere else. Every server certificate of the cluster (its brokers and controllers, and
// the ksqlDB and Connect clusters attached to it) is issued by that CA, so that a rotation
// never breaks trust between nodes that have and have not reloaded yet, and clients keep
// the one CA they were given. Rotating the CA itself is out of scope: it needs a window
// where both CAs are trusted (a bundle in every truststore) before the new one signs.
const (
	caSecretName = "kafka-ca"
	// annotationTLSSerial on a certificate Secret is the PSC's TLSSerial it was issued for.
	annotationTLSSerial = "orbit.dev/tls-serial"
	// caLifetime is the CA's validity: it outlives any rotation of server certificates.
	caLifetime = 10 * 365 * 24 * time.Hour
	// certLifetime and certRenewBefore: certificates are reissued when a third of their
	// life is left, or when the PSC's TLS serial changes.
	certLifetime    = 90 * 24 * time.Hour
	certRenewBefore = 30 * 24 * time.Hour
)

// Files of a certificate Secret, as mounted at tlsDir.
const (
	tlsDir         = "/etc/orbit/tls"
	fileCA         = "ca.crt"
	fileCert       = "tls.crt"
	fileKey        = "tls.key"
	fileKeystore   = "keystore.pem" // Kafka's PEM keystore (KIP-651): unencrypted key, then the chain
	keyCAKey       = "ca.key"
	tlsKeystore    = tlsDir + "/" + fileKeystore
	tlsTruststore  = tlsDir + "/" + fileCA
	organization   = "orbit"
	caCommonSuffix = " CA"
)

func tlsSecretName(p kv.Product) string { return string(p) + "-tls" }

// certSubject is the subject of a cluster's server certificates. Kafka's nodes also
// authenticate to each other with it (mutual TLS on the internal and controller
// listeners), so it is the nodes' principal: User:<subject in RFC 2253 form>.
func certSubject(product kv.Product, cluster string) pkix.Name {
	return pkix.Name{CommonName: cluster, OrganizationalUnit: []string{string(product)}, Organization: []string{organization}}
}

// certAuthority is a cluster's CA.
type certAuthority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// tlsState is what the certificate objects of one render found or issued, for the status.
type tlsState struct {
	ca *certAuthority
	// serial is the serial (hex) of the server certificate in the Secret.
	serial string
}

// ensureCA makes sure the Kafka cluster of namespace ns has its CA, creating it if there
// is none, and puts it in st. The CA is created with Create, never applied: if two writers
// race, one CA wins and the other reads it.
func ensureCA(ns, cluster string, labels map[string]string, st *tlsState) func(context.Context, *kube) (bool, error) {
	return func(ctx context.Context, k *kube) (bool, error) {
		ca, err := loadCA(ctx, k, ns)
		if err == nil {
			st.ca = ca
			return false, nil
		}
		if !apierrors.IsNotFound(err) {
			return false, err
		}
		data, err := newCA(cluster, time.Now())
		if err != nil {
			return false, err
		}
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: caSecretName, Namespace: ns, Labels: labels},
			Type:       corev1.SecretTypeOpaque, Data: data,
		}
		_, err = k.client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			if st.ca, err = loadCA(ctx, k, ns); err != nil {
				return false, err
			}
			return false, nil
		}
		if err != nil {
			return false, err
		}
		st.ca, err = parseCA(data)
		return true, err
	}
}

// loadCA reads the CA of the Kafka cluster of namespace ns: from the cache, or, if the
// cache does not have it (yet), from the API server, so that a cache behind a creation
// never leads to a second CA.
func loadCA(ctx context.Context, k *kube, ns string) (*certAuthority, error) {
	s, err := k.secrets.Secrets(ns).Get(caSecretName)
	if apierrors.IsNotFound(err) {
		s, err = k.client.CoreV1().Secrets(ns).Get(ctx, caSecretName, metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	return parseCA(s.Data)
}

func parseCA(data map[string][]byte) (*certAuthority, error) {
	cert, err := parseCertPEM(data[fileCA])
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", caSecretName, err)
	}
	block, _ := pem.Decode(data[keyCAKey])
	if block == nil {
		return nil, fmt.Errorf("secret %s: no PEM key", caSecretName)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", caSecretName, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("secret %s: not a CA", caSecretName)
	}
	return &certAuthority{cert: cert, certPEM: data[fileCA], key: signer}, nil
}

func newCA(cluster string, now time.Time) (map[string][]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: cluster + caCommonSuffix, Organization: []string{organization}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(caLifetime), IsCA: true, BasicConstraintsValid: true,
		MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		fileCA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyCAKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// tlsSecret keeps the server certificate Secret current, issued by the CA that st holds
// once the CA's object has been ensured (caNS, for a ksqlDB or Connect cluster, is its
// Kafka cluster's namespace; it then only reads that CA). The Secret is written only when
// it is missing, when the PSC's serial asks for a rotation, when the certificate nears its
// end, or when it no longer matches (another CA, other names): a certificate is random, so
// rewriting it on every reconcile would be a change each time. A rotation keeps the subject
// and names (Kafka refuses a dynamic keystore update that changes them) and touches the
// Secret alone, never a pod template, so nothing restarts.
func (r *renderer) tlsSecret(o *PSCObject, ns, caNS string, labels map[string]string, subject pkix.Name, names []string, st *tlsState) func(context.Context, *kube) (bool, error) {
	name := tlsSecretName(o.Spec.Product)
	serial := strconv.FormatInt(o.Spec.TLSSerial, 10)
	return func(ctx context.Context, k *kube) (bool, error) {
		if st.ca == nil {
			ca, err := loadCA(ctx, k, caNS)
			if apierrors.IsNotFound(err) {
				return false, fmt.Errorf("the CA of kafka cluster %s does not exist yet", o.Spec.Kafka.ID)
			}
			if err != nil {
				return false, err
			}
			st.ca = ca
		}
		live, err := k.secrets.Secrets(ns).Get(name)
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		if err == nil && live.Annotations[annotationTLSSerial] == serial && live.Labels[LabelCluster] == o.Name {
			if cert, ok := currentCert(live.Data, st.ca, subject, names, time.Now().Add(certRenewBefore)); ok {
				st.serial = serialHex(cert)
				metrics.CertificateExpiry.WithLabelValues(r.satellite, o.Name).Set(float64(cert.NotAfter.Unix()))
				return false, nil
			}
		}
		data, cert, err := issueCertificate(st.ca, subject, names, time.Now())
		if err != nil {
			return false, err
		}
		ac := corev1ac.Secret(name, ns).WithLabels(labels).WithAnnotations(map[string]string{annotationTLSSerial: serial}).
			WithType(corev1.SecretTypeOpaque).WithData(data)
		start := time.Now()
		_, err = k.client.CoreV1().Secrets(ns).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		k.observeApply("Secret", start, err)
		if err != nil {
			return false, err
		}
		st.serial = serialHex(cert)
		metrics.CertificateExpiry.WithLabelValues(r.satellite, o.Name).Set(float64(cert.NotAfter.Unix()))
		return true, nil
	}
}

// currentCert returns the Secret's certificate if it is issued by ca for exactly subject
// and names, with its chain files matching, and still valid at t.
func currentCert(data map[string][]byte, ca *certAuthority, subject pkix.Name, names []string, t time.Time) (*x509.Certificate, bool) {
	cert, err := parseCertPEM(data[fileCert])
	if err != nil || !t.Before(cert.NotAfter) || !bytes.Equal(data[fileCA], ca.certPEM) {
		return nil, false
	}
	if cert.Subject.String() != subject.String() || !slices.Equal(cert.DNSNames, names) || cert.CheckSignatureFrom(ca.cert) != nil {
		return nil, false
	}
	return cert, true
}

// issueCertificate issues a server (and client: Kafka's nodes authenticate to each other
// with it) certificate for names under ca, with a new key: ca.crt, tls.crt, tls.key and
// keystore.pem (the unencrypted PKCS#8 key, then the chain; no ssl.key.password).
func issueCertificate(ca *certAuthority, subject pkix.Name, names []string, now time.Time) (map[string][]byte, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(certLifetime)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(), Subject: subject, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	crtPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return map[string][]byte{
		fileCA: ca.certPEM, fileCert: crtPEM, fileKey: keyPEM,
		fileKeystore: bytes.Join([][]byte{keyPEM, crtPEM, ca.certPEM}, nil),
	}, cert, nil
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1)) // serials are positive
}

// serialHex is how a certificate's serial is reported.
func serialHex(c *x509.Certificate) string { return c.SerialNumber.Text(16) }
