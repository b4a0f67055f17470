package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/satellite"
	"github.com/orbitcp/orbit/tests/testkit"
)

// TestMitigationOffThroughTheAPI: a tenant turns its dedicated cluster's automated
// mitigation off and on again through the API; the PSC the satellite holds carries it
// (the satellite's detectors honour it: TestMitigationTurnedOff). A shared cluster's is
// not a tenant's to turn off, and a bad value is refused naming the field.
func TestMitigationOffThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	sat := e.startSatellite("us-west-2")
	ctx := context.Background()
	c, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "demo", Product: "kafka", CKU: 1, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor("demo", 30*time.Second, readyWith(3))
	pscMitigation := func(want string) {
		t.Helper()
		testkit.CheckFor(t, 30*time.Second, func() error {
			u, err := sat.Dynamic.Resource(satellite.PSCResource).Get(ctx, physicalID(c), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got, _, _ := unstructured.NestedString(u.Object, "spec", "mitigation"); got != want {
				return fmt.Errorf("spec.mitigation %q, want %q", got, want)
			}
			return nil
		})
	}
	for _, mode := range []string{"off", "on"} {
		got, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{Mitigation: &mode})
		if err != nil || got.Mitigation != mode {
			t.Fatalf("mitigation %s: %v %+v", mode, err, got)
		}
		pscMitigation(mode)
		e.waitFor("demo", 30*time.Second, readyWith(3))
	}

	bad := "sometimes"
	var apiErr *api.StatusError
	if _, err := e.client.UpdateCluster(ctx, "demo", api.ClusterUpdate{Mitigation: &bad}); !errors.As(err, &apiErr) || apiErr.Err.Field != "mitigation" {
		t.Fatalf("a bad value: %v", err)
	}
	if _, err := e.client.CreateCluster(ctx, api.ClusterSpec{Name: "shared", Product: "kafka", SKU: "basic", CKU: 1, Region: "us-west-2"}); err != nil {
		t.Fatal(err)
	}
	off := "off"
	if _, err := e.client.UpdateCluster(ctx, "shared", api.ClusterUpdate{Mitigation: &off}); !errors.As(err, &apiErr) || apiErr.Err.Field != "mitigation" {
		t.Fatalf("a tenant turned a shared cluster's mitigation off: %v", err)
	}
}
