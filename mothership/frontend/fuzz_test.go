package frontend

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/orbitcp/orbit/mothership/api"
)

// FuzzParseApply: no apply file makes the parser panic, every error names a field, and
// every accepted spec is valid.
func FuzzParseApply(f *testing.F) {
	f.Add([]byte("apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: a}\nspec: {product: kafka, cku: 1, region: us-west-2}\n"))
	f.Add([]byte("apiVersion: orbit.dev/v1\nkind: Cluster\nmetadata: {name: s}\nspec: {product: ksqldb, cku: 1, region: r, kafka: a}\n---\n# c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := parseApply(data)
		if err != nil {
			var fe *fieldErr
			if !errors.As(err, &fe) || fe.field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		for _, s := range specs {
			c := s
			if err := normalize("", &c); err != nil {
				t.Fatalf("accepted an invalid spec %+v: %v", s, err)
			}
		}
	})
}

// FuzzDecodeClusterSpec: the API's JSON decoding and validation of a create request.
func FuzzDecodeClusterSpec(f *testing.F) {
	f.Add([]byte(`{"name":"a","product":"kafka","cku":1,"region":"us-west-2"}`))
	f.Add([]byte(`{"name":"a","product":"connect","cku":2,"region":"r","kafka":"k","network":"private-link"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec api.ClusterSpec
		err := decodeBody(bytes.NewReader(data), &spec)
		if err == nil {
			err = normalize("", &spec)
		}
		if err == nil {
			if spec.SKU == "" || spec.Cloud == "" || spec.Network == "" {
				t.Fatalf("defaults not filled: %+v", spec)
			}
			return
		}
		var fe *fieldErr
		var mbe *maxBytesErr
		if !errors.As(err, &fe) && !errors.As(err, &mbe) {
			t.Fatalf("error without a field: %v", err)
		}
		if fe != nil && strings.TrimSpace(fe.field) == "" {
			t.Fatalf("empty field in %v", err)
		}
	})
}
