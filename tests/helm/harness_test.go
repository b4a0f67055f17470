// Package helm tests the Helm charts under deploy/helm and the images `make images` builds:
// lint, a server-side dry run and an install on tests/kubetest's real API server, and the
// images' own binaries run with exactly the arguments and environment the installed
// workloads carry. It is test-only and writes nothing outside its temporary directories.
package helm

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// helmVersion is what install.sh builds.
const helmVersion = "3.21.4"

// repoRoot is the repository, from this package's directory.
var repoRoot = filepath.Join("..", "..")

// helmBin returns the pinned helm binary: skipped where it is not installed, except in CI.
func helmBin(t testing.TB) string {
	t.Helper()
	root := os.Getenv("ORBIT_TOOLS")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "orbit", "tools")
	}
	bin := filepath.Join(root, "helm-v"+helmVersion, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		missing(t, bin+" not found: run tests/helm/install.sh")
	}
	return bin
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// runHelm runs helm and returns its standard output.
func runHelm(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	out, err := tryHelm(kubeconfig, args...)
	if err != nil {
		t.Fatalf("helm %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func tryHelm(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command(helmPath, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+helmHome, "HELM_CONFIG_HOME="+helmHome, "HELM_DATA_HOME="+helmHome)
	if kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// helmPath and helmHome are set by setupHelm.
var helmPath, helmHome string

func setupHelm(t testing.TB) {
	t.Helper()
	helmPath = helmBin(t)
	helmHome = t.TempDir()
}

// imagesDir is where `make images` wrote the images: ORBIT_IMAGES, or bin/images.
func imagesDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ORBIT_IMAGES")
	if dir == "" {
		dir = filepath.Join(repoRoot, "bin", "images")
	}
	for _, name := range []string{"mothership", "satellite"} {
		if _, err := os.Stat(filepath.Join(dir, name+".tar")); err != nil {
			missing(t, fmt.Sprintf("%s.tar not in %s: run make images", name, dir))
		}
	}
	return dir
}

// unpack takes the image's entrypoint binary out into dir, and returns its path and the
// image's config.
func unpack(t testing.TB, tarPath, dir string) (string, *v1.ConfigFile) {
	t.Helper()
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Entrypoint) != 1 {
		t.Fatalf("%s: entrypoint %q", tarPath, cf.Config.Entrypoint)
	}
	want := strings.TrimPrefix(cf.Config.Entrypoint[0], "/")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s: the entrypoint %s is not in the image", tarPath, want)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != want {
			continue
		}
		out := filepath.Join(dir, filepath.Base(want))
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return out, cf
	}
}

// process is one container's binary, running on this machine.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// podRunner runs the containers of pods the way a kubelet would, on this machine: the
// image's binary, the container's arguments and environment exactly, with $(VAR)
// references expanded, Secret and field references resolved from the API server, each
// volume mount a local directory (Secret volumes filled from the Secret), and addresses
// rewritten by Rewrite (Service DNS names and listen ports to loopback ones).
type podRunner struct {
	t         testing.TB
	client    kubernetes.Interface
	namespace string
	dir       string
	// Rewrite maps a pod's argument after expansion (listen addresses, DNS names).
	Rewrite func(pod, arg string) string
	// Extra environment, e.g. KUBECONFIG where a pod would use its service account.
	Extra []string

	mu    sync.Mutex
	procs []*process
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// command prepares container c of a pod named pod with spec spec.
func (r *podRunner) command(pod string, spec corev1.PodSpec, c corev1.Container, bin string) *exec.Cmd {
	r.t.Helper()
	ctx := context.Background()
	if len(c.Command) != 0 {
		r.t.Fatalf("%s/%s: a command overrides the image's entrypoint", pod, c.Name)
	}
	secret := func(name string) *corev1.Secret {
		s, err := r.client.CoreV1().Secrets(r.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			r.t.Fatalf("%s/%s: secret %s: %v", pod, c.Name, name, err)
		}
		return s
	}
	// Volumes: a directory each, Secret volumes filled like the kubelet fills them.
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == m.Name {
				vol = &spec.Volumes[i]
			}
		}
		local := filepath.Join(r.dir, pod, "volumes", m.Name)
		if err := os.MkdirAll(local, 0o700); err != nil {
			r.t.Fatal(err)
		}
		if vol != nil && vol.Secret != nil {
			s := secret(vol.Secret.SecretName)
			items := vol.Secret.Items
			if len(items) == 0 {
				for k := range s.Data {
					items = append(items, corev1.KeyToPath{Key: k, Path: k})
				}
			}
			for _, it := range items {
				data, ok := s.Data[it.Key]
				if !ok {
					r.t.Fatalf("%s/%s: secret %s has no key %s", pod, c.Name, vol.Secret.SecretName, it.Key)
				}
				if err := os.WriteFile(filepath.Join(local, it.Path), data, 0o400); err != nil {
					r.t.Fatal(err)
				}
			}
		} else if vol == nil && !hasClaimTemplate(m.Name) {
			r.t.Fatalf("%s/%s: mount %s has no volume", pod, c.Name, m.Name)
		}
		mounts[m.MountPath] = local
	}
	// Environment, in order, each value able to refer to the ones before.
	env := map[string]string{}
	var envList []string
	expand := func(s string) string {
		return varRef.ReplaceAllStringFunc(s, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	for _, e := range c.Env {
		v := expand(e.Value)
		if f := e.ValueFrom; f != nil {
			switch {
			case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.name":
				v = pod
			case f.FieldRef != nil && f.FieldRef.FieldPath == "metadata.namespace":
				v = r.namespace
			case f.SecretKeyRef != nil:
				data, ok := secret(f.SecretKeyRef.Name).Data[f.SecretKeyRef.Key]
				if !ok {
					r.t.Fatalf("%s/%s: env %s: secret %s has no key %s", pod, c.Name, e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key)
				}
				v = string(data)
			default:
				r.t.Fatalf("%s/%s: env %s: unsupported reference %+v", pod, c.Name, e.Name, f)
			}
		}
		env[e.Name] = v
		envList = append(envList, e.Name+"="+v)
	}
	// Arguments: expanded, mount paths mapped to their directories (longest first).
	paths := make([]string, 0, len(mounts))
	for p := range mounts {
		paths = append(paths, p)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		a = expand(a)
		if flag, v, ok := strings.Cut(a, "="); ok {
			for _, p := range paths {
				if v == p || strings.HasPrefix(v, p+"/") {
					a = flag + "=" + mounts[p] + v[len(p):]
					break
				}
			}
		}
		if r.Rewrite != nil {
			a = r.Rewrite(pod, a)
		}
		args[i] = a
	}
	cmd := exec.Command(bin, args...)
	tmp := filepath.Join(r.dir, pod, "tmp")
	_ = os.MkdirAll(tmp, 0o700)
	cmd.Env = append(append(envList, "TMPDIR="+tmp, "HOME="+tmp), r.Extra...)
	cmd.Dir = tmp
	return cmd
}

// claimTemplates are the StatefulSets' volume claim templates (a pod's volume of that name).
var claimTemplates = map[string]bool{"data": true}

func hasClaimTemplate(name string) bool { return claimTemplates[name] }

// runToCompletion runs an init container.
func (r *podRunner) runToCompletion(pod string, spec corev1.PodSpec, c corev1.Container, bin string) {
	r.t.Helper()
	cmd := r.command(pod, spec, c, bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s/%s %q: %v\n%s", pod, c.Name, cmd.Args[1:], err, out)
	}
	r.t.Logf("%s/%s: %s", pod, c.Name, strings.TrimSpace(string(out)))
}

// start runs a container until the test ends.
func (r *podRunner) start(pod string, spec corev1.PodSpec, c corev1.Container, bin string) *process {
	r.t.Helper()
	cmd := r.command(pod, spec, c, bin)
	p := &process{name: pod + "/" + c.Name, cmd: cmd, log: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("started %s: %s %s", p.name, filepath.Base(bin), strings.Join(cmd.Args[1:], " "))
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	return p
}

// stop ends every process, last started first, and shows their logs if the test failed.
func (r *podRunner) stop() {
	r.mu.Lock()
	procs := r.procs
	r.procs = nil
	r.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		if r.t.Failed() {
			out := p.log.String()
			if len(out) > 3000 {
				out = out[len(out)-3000:]
			}
			r.t.Logf("--- %s (tail)\n%s", p.name, out)
		}
	}
}
