package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func testSpec(t *testing.T) Spec {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mothership")
	if err := os.WriteFile(bin, []byte("\x7fELF not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Spec{Binary: bin, Name: "mothership", Repository: "ghcr.io/orbitcp/mothership", Version: "0.1.0",
		Revision: "abc123", CACerts: certs, Arch: "amd64", Created: time.Unix(1700000000, 0).UTC()}
}

// TestImageConfig checks what a platform team's admission policy looks at: a non-root user,
// the entrypoint, the OCI labels, and a root filesystem with fixed timestamps, the user in
// /etc/passwd and a writable data directory owned by it.
func TestImageConfig(t *testing.T) {
	s := testSpec(t)
	res, err := Build(s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(res.Tarball, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.User; got != "65532" {
		t.Errorf("user %q, want 65532", got)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/mothership" {
		t.Errorf("entrypoint %q", got)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(s.Created) {
		t.Errorf("os/arch/created %s/%s/%v", cf.OS, cf.Architecture, cf.Created)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  "0.1.0",
		"org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.source":   Source,
		"org.opencontainers.image.title":    "orbit-mothership",
		"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 on an empty base", len(layers))
	}
	files := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		b, _ := io.ReadAll(tr)
		contents[h.Name] = string(b)
		if !h.ModTime.Equal(s.Created) {
			t.Errorf("%s: mtime %v, want the fixed %v", h.Name, h.ModTime, s.Created)
		}
	}
	if h := files["usr/local/bin/mothership"]; h == nil || h.Mode != 0o755 || contents[h.Name] != "\x7fELF not really a binary" {
		t.Errorf("binary: %+v", h)
	}
	if !strings.Contains(contents["etc/passwd"], "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the non-root user: %q", contents["etc/passwd"])
	}
	if h := files["var/lib/orbit"]; h == nil || h.Uid != UID {
		t.Errorf("data directory: %+v", h)
	}
	if contents["etc/ssl/certs/ca-certificates.crt"] == "" {
		t.Error("no CA bundle")
	}

	// The OCI layout holds the same image, tagged.
	idx, err := layout.ImageIndexFromPath(res.Layout)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != res.Digest || m.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "0.1.0" {
		t.Errorf("layout index: %+v, want the one image %s", m.Manifests, res.Digest)
	}
}

// TestImageReproducible: the same inputs give the same digest, byte for byte the same
// tarball; a changed input (the binary) gives another.
func TestImageReproducible(t *testing.T) {
	s := testSpec(t)
	a, err := Build(s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest {
		t.Errorf("digests differ: %s, %s", a.Digest, b.Digest)
	}
	ta, _ := os.ReadFile(a.Tarball)
	tb, _ := os.ReadFile(b.Tarball)
	if string(ta) != string(tb) {
		t.Error("tarballs differ")
	}
	if err := os.WriteFile(s.Binary, []byte("another binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Build(s, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if c.Digest == a.Digest {
		t.Error("a different binary gave the same digest")
	}
}

// TestSpecValidate: bad flags are refused with the flag's name, before anything is written.
func TestSpecValidate(t *testing.T) {
	for field, mutate := range map[string]func(*Spec){
		"-binary":     func(s *Spec) { s.Binary = "" },
		"-name":       func(s *Spec) { s.Name = "Mother ship" },
		"-repository": func(s *Spec) { s.Repository = "" },
		"-version":    func(s *Spec) { s.Version = "" },
		"-repository/-version": func(s *Spec) {
			s.Version = "bad tag!"
		},
	} {
		s := testSpec(t)
		mutate(&s)
		out := t.TempDir()
		_, err := Build(s, filepath.Join(out, "images"))
		if err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%s: error %v", field, err)
		}
		if _, err := os.Stat(filepath.Join(out, "images")); err == nil {
			t.Errorf("%s: wrote output despite the error", field)
		}
	}
	s := testSpec(t)
	s.Binary = filepath.Join(t.TempDir(), "missing")
	if _, err := Build(s, t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "-binary:") {
		t.Errorf("missing binary: %v", err)
	}
}
