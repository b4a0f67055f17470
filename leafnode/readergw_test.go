package leafnode

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestReaderRequestChecks: the gateway's decision on each kind of request, without a
// server: what passes, what is refused and why, and that a passed consumer creation is
// always a create.
func TestReaderRequestChecks(t *testing.T) {
	allowed := readerAPISubjects()
	create := func(cfg string, action string) []byte {
		return []byte(`{"stream_name":"KV_desired","config":` + cfg + `,"action":` + action + `}`)
	}
	for _, tc := range []struct {
		name, api string
		body      []byte
		refusal   string // empty: passed on
	}{
		{"account info", "INFO", nil, ""},
		{"stream info", "STREAM.INFO.KV_desired", nil, ""},
		{"stream info, longer subject", "STREAM.INFO.KV_desired.x", nil, "not allowed"},
		{"another stream", "STREAM.INFO.OTHER", nil, "not allowed"},
		{"direct get by subject", "DIRECT.GET.KV_actual.$KV.actual.s1.kafka.c1", nil, ""},
		{"consumer info", "CONSUMER.INFO.KV_satellites.abc", nil, ""},
		{"consumer info, two tokens", "CONSUMER.INFO.KV_satellites.a.b", nil, "not allowed"},
		{"consumer delete", "CONSUMER.DELETE.KV_desired.abc", nil, "not allowed"},
		{"stream update", "STREAM.UPDATE.KV_desired", nil, "not allowed"},
		{"KV put under the prefix", "$KV.desired.s1.kafka.c1", nil, "not allowed"},
		{"legacy durable create", "CONSUMER.DURABLE.CREATE.KV_desired.d", create(`{"durable_name":"d"}`, `""`), "not allowed"},
		{"ephemeral", "CONSUMER.CREATE.KV_desired", create(`{"deliver_subject":"_INBOX.abc","ack_policy":"none"}`, `""`), ""},
		{"named ephemeral", "CONSUMER.CREATE.KV_desired.abc.$KV.desired.>", create(`{"name":"abc","filter_subject":"$KV.desired.>","inactive_threshold":300000000000}`, `""`), ""},
		{"durable", "CONSUMER.CREATE.KV_desired.d", create(`{"durable_name":"d"}`, `""`), "durable consumer"},
		{"an hour and more", "CONSUMER.CREATE.KV_desired.n", create(`{"name":"n","inactive_threshold":3600000000001}`, `""`), "inactive_threshold"},
		{"delivering into a bucket", "CONSUMER.CREATE.KV_desired.n", create(`{"name":"n","deliver_subject":"$KV.desired.x"}`, `""`), "deliver_subject"},
		{"delivering to a wildcard", "CONSUMER.CREATE.KV_desired.n", create(`{"name":"n","deliver_subject":"_INBOX.>"}`, `""`), "deliver_subject"},
		{"update", "CONSUMER.CREATE.KV_desired.n", create(`{"name":"n"}`, `"update"`), "updates"},
		{"sourcing", "CONSUMER.CREATE.KV_desired.n", create(`{"name":"n","sourcing":true}`, `""`), "sourcing"},
		{"not JSON", "CONSUMER.CREATE.KV_desired", []byte("{"), "consumer create request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := readerRequest(tc.api, allowed, tc.body)
			if tc.refusal != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("got %v, want a refusal naming %q", err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !strings.HasPrefix(tc.api, "CONSUMER.CREATE.") {
				return
			}
			var req server.CreateConsumerRequest
			if err := json.Unmarshal(out, &req); err != nil {
				t.Fatal(err)
			}
			if req.Action != server.ActionCreate || req.Stream != "KV_desired" || req.Config.Durable != "" {
				t.Errorf("passed on %+v", req)
			}
			if tc.name == "named ephemeral" && (req.Config.Name != "abc" || req.Config.InactiveThreshold != 5*time.Minute) {
				t.Errorf("the request changed on its way: %+v", req.Config)
			}
		})
	}
}
