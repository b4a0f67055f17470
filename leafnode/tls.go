package leafnode

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// CertReloader serves a certificate from files and picks up new files without a restart:
// every TLS handshake asks it for the current certificate, so connections established
// before a rotation keep going and new ones see the new certificate. Both the hub's
// leaf-node listener and the mothership's API use it.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	cert              atomic.Pointer[tls.Certificate]
	sum               atomic.Pointer[[32]byte]
}

// NewCertReloader loads the certificate and key once.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again; it reports whether the certificate changed. A pair that
// does not load is an error and leaves the current certificate in place.
func (r *CertReloader) Reload() (bool, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, fmt.Errorf("tls: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, fmt.Errorf("tls: %w", err)
	}
	sum := sha256.Sum256(append(bytes.Clone(certPEM), keyPEM...))
	if old := r.sum.Load(); old != nil && *old == sum {
		return false, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Never echo the key material: name the files only.
		return false, fmt.Errorf("tls: %s and %s do not hold a matching certificate and key", r.certFile, r.keyFile)
	}
	r.cert.Store(&cert)
	r.sum.Store(&sum)
	return true, nil
}

// GetCertificate is for tls.Config.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Run polls the files every interval (and whenever reload signals, e.g. on SIGHUP) until
// ctx ends.
func (r *CertReloader) Run(ctx context.Context, interval time.Duration, reload <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-reload:
		}
		changed, err := r.Reload()
		switch {
		case err != nil:
			r.log.Warn("certificate not reloaded; the current one stays", "error", err)
		case changed:
			r.log.Info("certificate reloaded", "file", r.certFile)
		}
	}
}

// GetClientCertificate is for tls.Config, on the client side of mutual TLS.
func (r *CertReloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// ServerConfig is a TLS server configuration serving the reloader's certificate. With
// clientCAFile, clients must present a certificate signed by one of its CAs.
func (r *CertReloader) ServerConfig(clientCAFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	if clientCAFile != "" {
		pool, err := loadPool(clientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientConfig verifies a server against the CA certificates in caFile.
func ClientConfig(caFile string) (*tls.Config, error) {
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

func loadPool(caFile string) (*x509.CertPool, error) {
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, errors.New("tls: " + caFile + " holds no CA certificate")
	}
	return pool, nil
}
