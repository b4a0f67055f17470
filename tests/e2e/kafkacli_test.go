package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/orbitcp/orbit/cmd/cliargs"
	"github.com/orbitcp/orbit/cmd/orbit/app"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/tests/testkit"
)

// orbitIn runs the CLI with stdin.
func (e *env) orbitIn(stdin string, args ...string) (string, string, error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	a := app.New(&out, &errOut)
	a.Reader = strings.NewReader(stdin)
	full := append([]string{"orbit", "--server", e.cp.URL(), "--api-key", testKey}, args...)
	err := a.RunContext(context.Background(), cliargs.Interspersed(a, full))
	return out.String(), errOut.String(), err
}

// TestKafkaTopicCLI is the README tour in dev mode, as a new user runs it with the orbit CLI
// only: a dedicated cluster, a Kafka API key, a topic created, listed, described; a record
// produced and consumed (SASL_SSL, SCRAM-SHA-512, trusting the cluster's CA from the API,
// every broker reached over the network at the address it advertises, kfake's controller
// node included, which alone answers CreateTopics); the topic deleted. Kafka refuses a
// client without credentials and one with a wrong secret, and the CLI refuses the key once
// revoked. On a basic cluster the CLI puts the topic under the logical cluster's prefix and
// shows it without.
func TestKafkaTopicCLI(t *testing.T) {
	e := newEnv(t)
	e.startSatellite("us-west-2")
	if _, progress, err := e.orbit("cluster", "create", "tour", "--product", "kafka", "--cku", "1", "--region", "us-west-2", "--wait"); err != nil {
		t.Fatalf("cluster create --wait: %v\n%s", err, progress)
	}
	out, _, err := e.orbit("cluster", "api-key", "create", "tour", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var key api.KafkaAPIKey
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.Secret == "" {
		t.Fatalf("api-key create -o json: %v\n%s", err, out)
	}
	creds := []string{"--cluster", "tour", "--kafka-key", key.ID, "--kafka-secret", key.Secret}
	topic := func(stdin string, args ...string) (string, string, error) {
		return e.orbitIn(stdin, append(append([]string{"kafka", "topic"}, args...), creds...)...)
	}

	// The satellite applies the key's user and ACLs within seconds.
	testkit.CheckFor(t, 30*time.Second, func() error {
		_, msg, err := topic("", "create", "orders", "--partitions", "3", "--config", "retention.ms=3600000")
		if err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
			return fmt.Errorf("%v %s", err, msg)
		}
		return nil
	})
	if out, _, err := topic("", "list"); err != nil || !strings.Contains(out, "orders") {
		t.Fatalf("topic list: %v\n%s", err, out)
	}
	out, _, err = topic("", "describe", "orders", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var desc struct {
		Name             string            `json:"name"`
		Partitions       int               `json:"partitions"`
		Configs          map[string]string `json:"configs"`
		PartitionDetails []struct {
			Leader int32 `json:"leader"`
		} `json:"partitionDetails"`
	}
	if err := json.Unmarshal([]byte(out), &desc); err != nil || desc.Name != "orders" || desc.Partitions != 3 ||
		len(desc.PartitionDetails) != 3 || desc.Configs["retention.ms"] != "3600000" {
		t.Fatalf("topic describe: %v\n%s", err, out)
	}
	if _, msg, err := topic("hello\nworld\n", "produce", "orders"); err != nil || !strings.Contains(msg, "Produced 2 records") {
		t.Fatalf("produce: %v\n%s", err, msg)
	}
	out, msg, err := topic("", "consume", "orders", "--from-beginning", "--group", "tour", "--max-messages", "2", "--timeout", "30s")
	if err != nil {
		t.Fatalf("consume: %v\n%s", err, msg)
	}
	if got := strings.Fields(out); len(got) != 2 || !(got[0] == "hello" && got[1] == "world" || got[0] == "world" && got[1] == "hello") {
		t.Fatalf("consumed %q, want hello and world", out)
	}

	// Kafka itself refuses clients without the key's credentials.
	c, err := e.client.GetCluster(context.Background(), "tour")
	if err != nil {
		t.Fatal(err)
	}
	refused := func(who string, cl *kgo.Client) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := kadm.NewClient(cl).ListTopics(ctx); err == nil {
			t.Errorf("%s: Kafka listed topics", who)
		}
	}
	if _, err := kadm.NewClient(plainKafkaClient(t, c, key.ID, key.Secret)).ListTopics(context.Background()); err != nil {
		t.Fatalf("a plain client with the key: %v", err)
	}
	refused("no credentials", plainKafkaClient(t, c, "", ""))
	refused("wrong secret", plainKafkaClient(t, c, key.ID, key.Secret+"x"))
	_, _, err = e.orbitIn("", "kafka", "topic", "list", "--cluster", "tour", "--kafka-key", key.ID, "--kafka-secret", key.Secret+"x")
	if err == nil || !strings.Contains(err.Error(), "wrong secret, or the key was revoked") {
		t.Errorf("list with a wrong secret: %v", err)
	}
	if _, _, err := e.orbitIn("", "kafka", "topic", "list", "--cluster", "tour"); err == nil || !strings.Contains(err.Error(), "--kafka-key") {
		t.Errorf("list without a key: %v", err)
	}

	if _, msg, err := topic("", "delete", "orders"); err != nil {
		t.Fatalf("delete: %v\n%s", err, msg)
	}
	if out, _, err := topic("", "list"); err != nil || strings.Contains(out, "orders") {
		t.Fatalf("topic list after delete: %v\n%s", err, out)
	}
	if _, _, err := e.orbit("cluster", "api-key", "revoke", "tour", key.ID); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 30*time.Second, func() error {
		if _, _, err := topic("", "list"); err == nil {
			return errors.New("the revoked key still lists topics")
		} else if !strings.Contains(err.Error(), "wrong secret, or the key was revoked") {
			return fmt.Errorf("refused, but not for the key: %w", err)
		}
		return nil
	})

	// A basic (shared) cluster: the prefix is the CLI's business.
	if _, progress, err := e.orbit("cluster", "create", "shared", "--product", "kafka", "--sku", "basic", "--cku", "1", "--region", "us-west-2", "--wait"); err != nil {
		t.Fatalf("basic cluster create --wait: %v\n%s", err, progress)
	}
	out, _, err = e.orbit("cluster", "api-key", "create", "shared", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var sharedKey api.KafkaAPIKey
	if err := json.Unmarshal([]byte(out), &sharedKey); err != nil {
		t.Fatal(err)
	}
	shared := []string{"--cluster", "shared", "--kafka-key", sharedKey.ID, "--kafka-secret", sharedKey.Secret}
	testkit.CheckFor(t, 30*time.Second, func() error {
		_, msg, err := e.orbitIn("", append([]string{"kafka", "topic", "create", "orders", "--partitions", "1"}, shared...)...)
		if err != nil && !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
			return fmt.Errorf("%v %s", err, msg)
		}
		return nil
	})
	out, _, err = e.orbitIn("", append([]string{"kafka", "topic", "list", "-o", "json"}, shared...)...)
	if err != nil || !strings.Contains(out, `"name": "orders"`) {
		t.Fatalf("list on the basic cluster: %v\n%s", err, out)
	}
	sc, err := e.client.GetCluster(context.Background(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	topics, err := kadm.NewClient(plainKafkaClient(t, sc, sharedKey.ID, sharedKey.Secret)).ListTopics(context.Background())
	if err != nil || !topics.Has(sc.ID+".orders") || topics.Has("orders") {
		t.Fatalf("in Kafka the basic cluster's topic is not %s.orders: %v %v", sc.ID, topics.Names(), err)
	}
}
