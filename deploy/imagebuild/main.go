// Command imagebuild builds Orbit's container images (mothership, satellite) without a
// container daemon or a registry: an empty base (scratch), one layer with the static binary,
// /etc/passwd and /etc/group naming the non-root user 65532, the CA bundle and a data
// directory, and an OCI image config with the entrypoint, that user and the OCI labels.
// Every timestamp is fixed (SOURCE_DATE_EPOCH, default 0), so the same inputs always give
// the same digest. It writes an OCI image layout (for `crane push`, `skopeo copy oci:...`)
// and a tarball (`docker load`, `podman load`). `make images` runs it; it writes nothing
// but its -out directory.
//
//	go run ./deploy/imagebuild -binary bin/images/build/mothership -name mothership \
//	    -repository ghcr.io/orbitcp/mothership -version 0.1.0 -out bin/images
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	var spec Spec
	flag.StringVar(&spec.Binary, "binary", "", "Static binary to put in the image (required)")
	flag.StringVar(&spec.Name, "name", "", "Image name: the binary's name in the image and the output file names (required)")
	flag.StringVar(&spec.Repository, "repository", "", "Image repository, e.g. ghcr.io/orbitcp/mothership (required)")
	flag.StringVar(&spec.Version, "version", "", "Image tag and version label (required)")
	flag.StringVar(&spec.Revision, "revision", "", "Source revision label (git commit)")
	flag.StringVar(&spec.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle (PEM) to install as /etc/ssl/certs/ca-certificates.crt (empty: none)")
	flag.StringVar(&spec.Arch, "arch", "amd64", "Architecture of the binary (GOARCH)")
	out := flag.String("out", "bin/images", "Directory to write <name>.tar and the OCI layout <name>/ into")
	flag.Parse()
	if flag.NArg() != 0 {
		fail(errors.New("no arguments expected, only flags"))
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		fail(err)
	}
	spec.Created = epoch
	res, err := Build(spec, *out)
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s %s@%s\n  %s\n  %s\n", spec.Name, res.Ref, res.Digest, res.Tarball, res.Layout)
}

// sourceDateEpoch is the images' fixed time: SOURCE_DATE_EPOCH (the reproducible-builds
// convention) or the Unix epoch.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %q is not a non-negative number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "imagebuild: %v\n", err)
	os.Exit(1)
}
