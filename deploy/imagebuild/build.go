package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// UID and GID of the images' only user (the distroless "nonroot" convention).
const (
	UID = 65532
	GID = 65532
)

// BinDir is where the binary goes; DataDir is the default data directory of both binaries,
// owned by the non-root user.
const (
	BinDir  = "/usr/local/bin"
	DataDir = "/var/lib/orbit"
)

// Source is the repository the images' source label points at.
const Source = "https://github.com/orbitcp/orbit"

// Spec is one image.
type Spec struct {
	Binary     string // path of the static binary
	Name       string // mothership or satellite
	Repository string // e.g. ghcr.io/orbitcp/mothership
	Version    string // tag and version label
	Revision   string // git commit, optional
	CACerts    string // PEM bundle, optional
	Arch       string // GOARCH
	Created    time.Time
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Validate names the first bad field.
func (s Spec) Validate() error {
	switch {
	case s.Binary == "":
		return errors.New("-binary: required")
	case !nameRE.MatchString(s.Name):
		return fmt.Errorf("-name: %q must be lower-case letters, digits and dashes", s.Name)
	case s.Repository == "":
		return errors.New("-repository: required")
	case s.Version == "":
		return errors.New("-version: required")
	case s.Arch == "":
		return errors.New("-arch: required")
	}
	if _, err := name.NewTag(s.Repository+":"+s.Version, name.StrictValidation); err != nil {
		return fmt.Errorf("-repository/-version: %w", err)
	}
	return nil
}

// Ref is the image's reference, repository:version.
func (s Spec) Ref() string { return s.Repository + ":" + s.Version }

// Result is what Build wrote.
type Result struct {
	Ref, Digest, Tarball, Layout string
}

// Image builds the image in memory.
func Image(s Spec) (v1.Image, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("-binary: %w", err)
	}
	var certs []byte
	if s.CACerts != "" {
		if certs, err = os.ReadFile(s.CACerts); err != nil {
			return nil, fmt.Errorf("-ca-certs: %w", err)
		}
	}
	layerTar, err := rootfs(s, bin, certs)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: s.Created}, CreatedBy: "imagebuild: " + s.Name + " " + s.Version, Comment: "static binary, passwd, CA certificates",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	cf.Created = v1.Time{Time: s.Created}
	cf.Config.Entrypoint = []string{BinDir + "/" + s.Name}
	cf.Config.Cmd = nil
	cf.Config.User = fmt.Sprint(UID)
	cf.Config.WorkingDir = DataDir
	cf.Config.Env = []string{"PATH=" + BinDir, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = Labels(s)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: s.Created})
}

// Labels are the OCI annotations the image config carries.
func Labels(s Spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "orbit-" + s.Name,
		"org.opencontainers.image.description": "Orbit " + s.Name + ", a control plane for fleets of managed Kafka clusters",
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.url":         Source,
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.base.name":   "scratch",
	}
	if s.Revision != "" {
		l["org.opencontainers.image.revision"] = s.Revision
	}
	return l
}

// rootfs is the image's only layer, every header fixed: owner root (the data directory the
// non-root user's), times s.Created, no user or group names.
func rootfs(s Spec, bin, certs []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(path string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: path + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: s.Created, Format: tar.FormatPAX})
	}
	file := func(path string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path, Mode: mode, Size: int64(len(data)), ModTime: s.Created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error {
			if certs == nil {
				return nil
			}
			return file("etc/ssl/certs/ca-certificates.crt", 0o644, certs)
		},
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, UID) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("usr", 0o755, 0) },
		func() error { return dir("usr/local", 0o755, 0) },
		func() error { return dir("usr/local/bin", 0o755, 0) },
		func() error { return file("usr/local/bin/"+s.Name, 0o755, bin) },
		func() error { return dir("var", 0o755, 0) },
		func() error { return dir("var/lib", 0o755, 0) },
		func() error { return dir("var/lib/orbit", 0o700, UID) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Build writes the image as out/<name>.tar and as the OCI layout out/<name>/, replacing
// earlier builds.
func Build(s Spec, out string) (Result, error) {
	img, err := Image(s)
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	tag, _ := name.NewTag(s.Ref(), name.StrictValidation)
	res := Result{Ref: s.Ref(), Digest: digest.String(), Tarball: filepath.Join(out, s.Name+".tar"), Layout: filepath.Join(out, s.Name)}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return Result{}, err
	}
	if err := tarball.WriteToFile(res.Tarball, tag, img); err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", res.Tarball, err)
	}
	if err := os.RemoveAll(res.Layout); err != nil {
		return Result{}, err
	}
	p, err := layout.Write(res.Layout, empty.Index)
	if err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", res.Layout, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": s.Version,
		"io.containerd.image.name":          s.Ref(),
	})); err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", res.Layout, err)
	}
	return res, nil
}
