package kv

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The fuzz targets feed arbitrary bytes to every decoder a satellite or the mothership runs
// on values it receives: none may panic, and whatever decodes must encode again to a value
// that decodes to the same thing. Seed corpora live in testdata/fuzz.

func roundTrip[T any, PT interface {
	*T
	validator
}](t *testing.T, decode func([]byte) (*T, error), data []byte) {
	v, err := decode(data)
	if err != nil {
		return
	}
	enc, err := Encode(PT(v))
	if err != nil {
		t.Fatalf("decoded %q but cannot encode it again: %v", data, err)
	}
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("re-encoded value %s does not decode: %v", enc, err)
	}
	a, _ := json.Marshal(v)
	b, _ := json.Marshal(again)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the value:\n%s\n%s", a, b)
	}
}

func FuzzDecodePSC(f *testing.F) {
	good, _ := Encode(validPSC())
	f.Add(good)
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, DecodePSC, data) })
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"id":"pkc-a","satellite":"s","product":"kafka","observedGeneration":1,"phase":"ready","replicas":3,"readyReplicas":3,"updatedAt":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, DecodeStatus, data) })
}

func FuzzDecodeSatellite(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"name":"s","region":"r","cloud":"aws","networks":["public"],"capacity":{"clusters":1,"brokers":3},"version":"v","startedAt":"2026-01-01T00:00:00Z","heartbeatAt":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, DecodeSatellite, data) })
}

func FuzzParseKey(f *testing.F) {
	f.Add("us-west-2.kafka.pkc-abc")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("ParseKey(%q) renders as %q", s, k.String())
		}
	})
}
