package kv

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validPSC() *PSC {
	return &PSC{
		SchemaVersion: SchemaVersion, ID: "pkc-abc", Satellite: "us-west-2", Product: ProductKafka, Generation: 3,
		Spec: PSCSpec{Version: "3.9.0", Replicas: 3, Controllers: 3, Storage: Storage{SizeGiB: 100}, Config: map[string]string{"min.insync.replicas": "2"},
			KafkaClusterID: "XxssPU5fYHGCk6S1xtfo-Q"},
	}
}

func TestPSCRoundTrip(t *testing.T) {
	data, err := Encode(validPSC())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePSC(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key().String() != "us-west-2.kafka.pkc-abc" || got.Generation != 3 || got.Spec.Replicas != 3 || got.Spec.Config["min.insync.replicas"] != "2" {
		t.Fatalf("round trip: %+v", got)
	}
}

// TestDecodeIsStrict: every malformed value is an error wrapping ErrInvalid that names
// what is wrong, never a zero value.
func TestDecodeIsStrict(t *testing.T) {
	good, _ := Encode(validPSC())
	replace := func(old, new string) string { return strings.Replace(string(good), old, new, 1) }
	cases := map[string]struct {
		value string
		want  string
	}{
		"unknown field":     {replace(`"id":`, `"brokers":9,"id":`), "unknown field"},
		"unknown nested":    {replace(`"replicas":3`, `"replicas":3,"image":"evil"`), "unknown field"},
		"wrong version":     {replace(`"schemaVersion":1`, `"schemaVersion":2`), "schemaVersion"},
		"missing version":   {replace(`"schemaVersion":1,`, ``), "schemaVersion"},
		"null":              {`null`, "schemaVersion"},
		"empty object":      {`{}`, "schemaVersion"},
		"not JSON":          {`{"schemaVersion":1,`, "invalid"},
		"trailing data":     {string(good) + `{}`, "after top-level value"},
		"wrong type":        {replace(`"replicas":3`, `"replicas":"3"`), "invalid"},
		"negative replicas": {replace(`"replicas":3`, `"replicas":-1`), "spec.replicas"},
		"too many replicas": {replace(`"replicas":3`, `"replicas":100000`), "spec.replicas"},
		"bad id":            {replace(`"pkc-abc"`, `"pkc.abc"`), "id"},
		"wildcard sat":      {replace(`"us-west-2"`, `"us-*"`), "satellite"},
		"unknown product":   {replace(`"kafka"`, `"spark"`), "product"},
		"zero generation":   {replace(`"generation":3`, `"generation":0`), "generation"},
		"bad version":       {replace(`"3.9.0"`, `"latest"`), "spec.version"},
		"no storage":        {replace(`"sizeGiB":100`, `"sizeGiB":0`), "spec.storage.sizeGiB"},
		"bad config key":    {replace(`"min.insync.replicas"`, `"Bad Key"`), "spec.config"},
		"kafka refs kafka":  {replace(`"replicas":3`, `"replicas":3,"kafka":{"id":"pkc-x"}`), "spec.kafka"},
		"purge undeleted":   {replace(`"generation":3`, `"generation":3,"purgeAfter":"2030-01-01T00:00:00Z"`), "purgeAfter"},
		"no cluster id":     {replace(`,"kafkaClusterId":"XxssPU5fYHGCk6S1xtfo-Q"`, ``), "spec.kafkaClusterId"},
		"short cluster id":  {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `XxssPU5fYHGCk6S1xtfo`), "spec.kafkaClusterId"},
		"std base64 id":     {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `XxssPU5fYHGCk6S1xtfo+Q`), "spec.kafkaClusterId"},
		"padded id":         {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `XxssPU5fYHGCk6S1xtf==`), "spec.kafkaClusterId"},
		"non-canonical id":  {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `XxssPU5fYHGCk6S1xtfo-R`), "spec.kafkaClusterId"},
		"zero id":           {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `AAAAAAAAAAAAAAAAAAAAAA`), "reserved"},
		"metadata topic id": {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `AAAAAAAAAAAAAAAAAAAAAQ`), "reserved"},
		"option-like id":    {replace(`XxssPU5fYHGCk6S1xtfo-Q`, `-xssPU5fYHGCk6S1xtfo-Q`), "spec.kafkaClusterId"},
		"huge":              {`{"schemaVersion":1,"id":"` + strings.Repeat("a", MaxValueSize) + `"}`, "limit"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := DecodePSC([]byte(tc.value))
			if err == nil || got != nil {
				t.Fatalf("decoded %q without error: %+v", tc.value, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestKafkaClusterIDOnlyForKafka(t *testing.T) {
	p := validPSC()
	p.Product, p.Spec.Controllers, p.Spec.Kafka = ProductKsqlDB, 0, &KafkaRef{ID: "pkc-x"}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "kafkaClusterId") {
		t.Fatalf("a ksqldb cluster with a KRaft cluster id: %v", err)
	}
	p.Spec.KafkaClusterID = ""
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaRefLogical: a worker may name the tenant it works for on a shared Kafka cluster;
// a malformed name is refused, naming the field.
func TestKafkaRefLogical(t *testing.T) {
	p := validPSC()
	p.Product, p.Spec.Controllers, p.Spec.KafkaClusterID = ProductConnect, 0, ""
	p.Spec.Kafka = &KafkaRef{ID: "pkc-x", Logical: "lkc-a"}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.Spec.Kafka.Logical = "LKC A"
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "spec.kafka.logical") {
		t.Fatalf("a malformed tenant: %v", err)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	p := validPSC()
	p.Spec.Replicas = 0
	if _, err := Encode(p); err == nil {
		t.Fatal("encoded an invalid PSC")
	}
}

func TestStatusAndSatellite(t *testing.T) {
	st := &Status{SchemaVersion: 1, ID: "pkc-abc", Satellite: "us-west-2", Product: ProductKafka, ObservedGeneration: 2,
		Phase: PhaseReady, Replicas: 3, ReadyReplicas: 3, UpdatedAt: time.Now(),
		Conditions: []Condition{{Type: "Ready", Status: "True"}}}
	data, err := Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(data)
	if err != nil || got.Condition("Ready") == nil || got.Condition("Stalled") != nil {
		t.Fatalf("status: %+v %v", got, err)
	}
	for name, mutate := range map[string]func(*Status){
		"phase":     func(s *Status) { s.Phase = "exploded" },
		"condition": func(s *Status) { s.Conditions[0].Status = "Maybe" },
		"observed":  func(s *Status) { s.ObservedGeneration = -1 },
	} {
		c := *st
		c.Conditions = append([]Condition(nil), st.Conditions...)
		mutate(&c)
		if _, err := Encode(&c); err == nil {
			t.Errorf("%s: invalid status encoded", name)
		}
	}

	sat := &Satellite{SchemaVersion: 1, Name: "us-west-2", Region: "us-west-2", Cloud: "aws", Networks: []string{"public"}, HeartbeatAt: time.Now()}
	if _, err := Encode(sat); err != nil {
		t.Fatal(err)
	}
	sat.Networks = []string{"carrier-pigeon"}
	if _, err := Encode(sat); err == nil || !strings.Contains(err.Error(), "networks[0]") {
		t.Fatalf("unknown network: %v", err)
	}
}

func TestKeys(t *testing.T) {
	k, err := ParseKey("eu-west-1.ksqldb.pksqlc-x1")
	if err != nil || k.Satellite != "eu-west-1" || k.Product != ProductKsqlDB || k.Cluster != "pksqlc-x1" {
		t.Fatalf("ParseKey: %+v %v", k, err)
	}
	for _, bad := range []string{"a.kafka", "a.kafka.b.c", "A.kafka.b", "a.spark.b", "a.kafka.*", "a.kafka.>", "..", ""} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) succeeded", bad)
		}
	}
	if got := DesiredSubjectFilter("eu-west-1"); got != "$KV.desired.eu-west-1.>" {
		t.Errorf("filter %q", got)
	}
	if got := HubPutSubject(BucketActual, "a.kafka.b"); got != "$JS.hub.API.$KV.actual.a.kafka.b" {
		t.Errorf("hub put subject %q", got)
	}
	r, id, err := ParseEventSubject("events.logical.lkc-1")
	if err != nil || r != "logical" || id != "lkc-1" {
		t.Errorf("ParseEventSubject: %q %q %v", r, id, err)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "us-west-2", "a1", strings.Repeat("a", 63)} {
		if err := ValidateName("name", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "a.b", "a*", ">", "a b", "-a", "a-", "a_b", strings.Repeat("a", 64), "é"} {
		err := ValidateName("name", bad)
		if err == nil || !strings.HasPrefix(err.Error(), "name: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestMetadataVersionFitsTheKafkaVersion: a PSC may ask only for a metadata version its
// Kafka version runs, and only for a Kafka cluster; the error names the field.
func TestMetadataVersionFitsTheKafkaVersion(t *testing.T) {
	p := validPSC()
	p.Spec.MetadataVersion = 21 // 3.9-IV0
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.Spec.MetadataVersion = 25 // 4.0-IV3 on 3.9.0
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "spec.metadataVersion") || !errors.Is(err, ErrInvalid) {
		t.Fatalf("a 4.0 metadata version on Kafka 3.9: %v", err)
	}
	p = validPSC()
	p.Product, p.Spec.Controllers, p.Spec.Kafka, p.Spec.KafkaClusterID = ProductConnect, 0, &KafkaRef{ID: "pkc-x"}, ""
	p.Spec.MetadataVersion = 21
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "metadataVersion") {
		t.Fatalf("a connect cluster with a metadata version: %v", err)
	}
}
