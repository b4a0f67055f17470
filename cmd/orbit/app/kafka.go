package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/urfave/cli/v2"

	"github.com/orbitcp/orbit/mothership/api"
)

// kafkaCommand talks to a Kafka cluster itself, not to the mothership: the API only tells
// where the cluster is (bootstrap), which CA it trusts and whether it is shared. The client
// authenticates with a Kafka API key (orbit cluster api-key create), over SASL_SSL with
// SCRAM-SHA-512, trusting only the cluster's CA.
var kafkaCommand = &cli.Command{
	Name:  "kafka",
	Usage: "Work inside a Kafka cluster with a Kafka API key",
	Subcommands: []*cli.Command{{
		Name:  "topic",
		Usage: "Create, list, describe, delete, produce to and consume from topics",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "Create a topic",
				ArgsUsage: "TOPIC",
				Flags: append(kafkaFlags(),
					&cli.IntFlag{Name: "partitions", Usage: "Number of partitions", Value: 6, EnvVars: []string{"ORBIT_KAFKA_PARTITIONS"}},
					&cli.IntFlag{Name: "replication-factor", Usage: "Replicas per partition (-1: the cluster's default)", Value: -1, EnvVars: []string{"ORBIT_KAFKA_REPLICATION_FACTOR"}},
					&cli.StringSliceFlag{Name: "config", Usage: "Topic configuration KEY=VALUE (repeatable)", EnvVars: []string{"ORBIT_KAFKA_TOPIC_CONFIG"}},
				),
				Action: topicCreate,
			},
			{
				Name:   "list",
				Usage:  "List the topics the key may see",
				Flags:  kafkaFlags(),
				Action: topicList,
			},
			{
				Name:      "describe",
				Usage:     "Show a topic's partitions and configuration",
				ArgsUsage: "TOPIC",
				Flags:     kafkaFlags(),
				Action:    topicDescribe,
			},
			{
				Name:      "delete",
				Usage:     "Delete a topic and its data",
				ArgsUsage: "TOPIC",
				Flags:     kafkaFlags(),
				Action:    topicDelete,
			},
			{
				Name:      "produce",
				Usage:     "Produce each line of standard input as a record",
				ArgsUsage: "TOPIC",
				Flags: append(kafkaFlags(),
					&cli.BoolFlag{Name: "parse-key", Usage: "Split each line into KEY and VALUE at --delimiter", EnvVars: []string{"ORBIT_KAFKA_PARSE_KEY"}},
					&cli.StringFlag{Name: "delimiter", Usage: "What separates key and value with --parse-key", Value: ":", EnvVars: []string{"ORBIT_KAFKA_DELIMITER"}},
				),
				Action: topicProduce,
			},
			{
				Name:      "consume",
				Usage:     "Print a topic's records, one value a line",
				ArgsUsage: "TOPIC",
				Flags: append(kafkaFlags(),
					&cli.BoolFlag{Name: "from-beginning", Usage: "Start at the oldest record rather than the newest", EnvVars: []string{"ORBIT_KAFKA_FROM_BEGINNING"}},
					&cli.StringFlag{Name: "group", Usage: "Consumer group (its offsets are committed); none: read without a group", EnvVars: []string{"ORBIT_KAFKA_GROUP"}},
					&cli.BoolFlag{Name: "print-key", Usage: "Print KEY<delimiter>VALUE", EnvVars: []string{"ORBIT_KAFKA_PRINT_KEY"}},
					&cli.StringFlag{Name: "delimiter", Usage: "What separates key and value with --print-key", Value: ":", EnvVars: []string{"ORBIT_KAFKA_DELIMITER"}},
					&cli.IntFlag{Name: "max-messages", Usage: "Stop after this many records (0: run until interrupted or --timeout)", EnvVars: []string{"ORBIT_KAFKA_MAX_MESSAGES"}},
					&cli.DurationFlag{Name: "timeout", Usage: "Stop after this long (0: no limit)", EnvVars: []string{"ORBIT_KAFKA_TIMEOUT"}},
				),
				Action: topicConsume,
			},
		},
	}},
}

// kafkaFlags are every topic command's flags: the cluster and the Kafka API key. They are
// not the mothership's --api-key: that one authenticates to Orbit's API, these to Kafka.
func kafkaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cluster", Usage: "Kafka cluster name", Required: true, EnvVars: []string{"ORBIT_CLUSTER"}},
		&cli.StringFlag{Name: "kafka-key", Usage: "Kafka API key id (orbit cluster api-key create)", EnvVars: []string{"ORBIT_KAFKA_KEY"}},
		&cli.StringFlag{Name: "kafka-secret", Usage: "Kafka API key secret", EnvVars: []string{"ORBIT_KAFKA_SECRET"}},
	}
}

// kafkaSession is a connection to one Kafka cluster as one Kafka API key.
type kafkaSession struct {
	cluster *api.Cluster
	// prefix is what the cluster's topics and groups are named under: "<logical cluster
	// id>." on a shared (basic, standard) cluster, "" on a dedicated one.
	prefix string
	opts   []kgo.Opt
	client *kgo.Client
}

// multiTenantSKUs are the SKUs whose clusters share a physical cluster, each tenant
// confined to its prefix by ACLs.
var multiTenantSKUs = []string{"basic", "standard"}

// openKafka looks the cluster up through the API and connects to it with the key; extra,
// if not nil, adds client options that depend on the cluster (its prefix).
func openKafka(c *cli.Context, extra func(*kafkaSession) []kgo.Opt) (*kafkaSession, error) {
	key, secret := c.String("kafka-key"), c.String("kafka-secret")
	switch {
	case key == "" && secret == "":
		return nil, usageError{errors.New("a Kafka API key is needed: --kafka-key and --kafka-secret (or ORBIT_KAFKA_KEY and ORBIT_KAFKA_SECRET); create one with orbit cluster api-key create")}
	case key == "":
		return nil, usageError{errors.New("--kafka-key is empty (ORBIT_KAFKA_KEY)")}
	case secret == "":
		return nil, usageError{errors.New("--kafka-secret is empty (ORBIT_KAFKA_SECRET)")}
	}
	apiClient, err := client(c)
	if err != nil {
		return nil, err
	}
	name := c.String("cluster")
	cluster, err := apiClient.GetCluster(c.Context, name)
	if err != nil {
		return nil, err
	}
	if cluster.Product != "kafka" {
		return nil, usageError{fmt.Errorf("--cluster: %s is a %s cluster, not a kafka cluster", name, cluster.Product)}
	}
	st := cluster.Status
	if st.Bootstrap == "" || st.CACertificate == "" {
		return nil, fmt.Errorf("cluster %s has no bootstrap address or CA yet (phase %s): wait until it is ready", name, st.Phase)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(st.CACertificate)) {
		return nil, fmt.Errorf("cluster %s: the CA Orbit reported is not a PEM certificate", name)
	}
	s := &kafkaSession{cluster: cluster}
	if slices.Contains(multiTenantSKUs, cluster.SKU) {
		s.prefix = cluster.ID + "."
	}
	s.opts = []kgo.Opt{
		kgo.SeedBrokers(st.Bootstrap),
		kgo.Dialer(tlsDialer(pool, st.BootstrapHost)),
		kgo.SASL(scram.Auth{User: key, Pass: secret}.AsSha512Mechanism()),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(10 * time.Second),
	}
	if extra != nil {
		s.opts = append(s.opts, extra(s)...)
	}
	s.client, err = kgo.NewClient(s.opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// tlsDialer dials a broker over TLS, trusting only pool. A broker reached by name is
// verified against that name; one reached by address (dev mode advertises loopback
// addresses) against bootstrapHost, the name the cluster's certificate covers.
func tlsDialer(pool *x509.CertPool, bootstrapHost string) func(ctx context.Context, network, host string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if net.ParseIP(host) != nil && bootstrapHost != "" {
			host = bootstrapHost
		}
		td := &tls.Dialer{NetDialer: d, Config: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: host}}
		return td.DialContext(ctx, network, addr)
	}
}

func (s *kafkaSession) Close() { s.client.Close() }

// topic is the name of the user's topic inside Kafka.
func (s *kafkaSession) topic(name string) string { return s.prefix + name }

// userName is the name of a Kafka topic or group as the user knows it.
func (s *kafkaSession) userName(name string) string { return strings.TrimPrefix(name, s.prefix) }

// kafkaError says what a refused request means for the user.
func (s *kafkaSession) kafkaError(what string, err error) error {
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("%s: Kafka refused the API key (wrong secret, or the key was revoked): %w", what, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// Kafka closes the connection on a failed SASL authentication with older handshakes
		// (and kfake, in dev mode, always does).
		return fmt.Errorf("%s: Kafka closed the connection, as it does when it refuses an API key (wrong secret, or the key was revoked): %w", what, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.GroupAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return fmt.Errorf("%s: the API key may not do this: %w", what, err)
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("%s: no such topic (or the key may not see it): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// topicArg is the single TOPIC argument, checked.
func topicArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", usageError{fmt.Errorf("%s needs exactly one TOPIC (got %d arguments)", c.Command.FullName(), c.NArg())}
	}
	name := c.Args().First()
	if err := validTopicName(name); err != nil {
		return "", usageError{fmt.Errorf("TOPIC: %w", err)}
	}
	return name, nil
}

// validTopicName applies Kafka's rule for topic names (before the prefix is added).
func validTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not allowed", name)
	case len(name) > 200:
		return fmt.Errorf("%q is longer than 200 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q has %q: only ASCII letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return nil
}

func topicCreate(c *cli.Context) error {
	name, err := topicArg(c)
	if err != nil {
		return err
	}
	partitions, rf := c.Int("partitions"), c.Int("replication-factor")
	if partitions < 1 {
		return usageError{fmt.Errorf("--partitions: %d is not at least 1", partitions)}
	}
	if rf == 0 || rf < -1 || rf > 32767 {
		return usageError{fmt.Errorf("--replication-factor: %d is not -1 or a positive number", rf)}
	}
	configs := map[string]*string{}
	for _, kvp := range c.StringSlice("config") {
		k, v, ok := strings.Cut(kvp, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--config: %q is not KEY=VALUE", kvp)}
		}
		configs[k] = &v
	}
	s, err := openKafka(c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := kadm.NewClient(s.client).CreateTopic(c.Context, int32(partitions), int16(rf), configs, s.topic(name))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return s.kafkaError("creating topic "+name, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "Created topic %s (%d partitions).\n", name, res.NumPartitions)
	return nil
}

// topicRow is a topic as list and describe show it.
type topicRow struct {
	Name              string            `json:"name"`
	Partitions        int               `json:"partitions"`
	ReplicationFactor int               `json:"replicationFactor"`
	Internal          bool              `json:"internal,omitempty"`
	PartitionDetails  []partitionRow    `json:"partitionDetails,omitempty"`
	Configs           map[string]string `json:"configs,omitempty"`
}

type partitionRow struct {
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"`
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
}

func topicList(c *cli.Context) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	s, err := openKafka(c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	details, err := kadm.NewClient(s.client).ListTopics(c.Context)
	if err != nil {
		return s.kafkaError("listing topics", err)
	}
	rows := []topicRow{}
	for _, d := range details.Sorted() {
		if d.Err != nil || d.IsInternal || !strings.HasPrefix(d.Topic, s.prefix) {
			continue // on a shared cluster the ACLs hide other tenants' topics; this is belt and braces
		}
		rows = append(rows, topicRow{Name: s.userName(d.Topic), Partitions: len(d.Partitions), ReplicationFactor: d.Partitions.NumReplicas()})
	}
	return render(c.App.Writer, format, rows, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tPARTITIONS\tREPLICATION FACTOR")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", r.Name, r.Partitions, r.ReplicationFactor)
		}
	})
}

func topicDescribe(c *cli.Context) error {
	name, err := topicArg(c)
	if err != nil {
		return err
	}
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	s, err := openKafka(c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	adm := kadm.NewClient(s.client)
	details, err := adm.ListTopics(c.Context, s.topic(name))
	if err != nil {
		return s.kafkaError("describing topic "+name, err)
	}
	d, ok := details[s.topic(name)]
	if !ok {
		return s.kafkaError("describing topic "+name, kerr.UnknownTopicOrPartition)
	}
	if d.Err != nil {
		return s.kafkaError("describing topic "+name, d.Err)
	}
	row := topicRow{Name: name, Partitions: len(d.Partitions), ReplicationFactor: d.Partitions.NumReplicas(), Configs: map[string]string{}}
	for _, p := range d.Partitions.Sorted() {
		row.PartitionDetails = append(row.PartitionDetails, partitionRow{Partition: p.Partition, Leader: p.Leader, Replicas: p.Replicas, ISR: p.ISR})
	}
	configs, err := adm.DescribeTopicConfigs(c.Context, s.topic(name))
	if err == nil {
		for _, rc := range configs {
			if rc.Err != nil {
				continue
			}
			for _, cfg := range rc.Configs {
				if cfg.Value != nil && !cfg.Sensitive && cfg.Source == kmsg.ConfigSourceDynamicTopicConfig {
					row.Configs[cfg.Key] = *cfg.Value
				}
			}
		}
	}
	return render(c.App.Writer, format, row, func(tw *tabwriter.Writer) {
		fmt.Fprintf(tw, "Topic:\t%s\nPartitions:\t%d\nReplication factor:\t%d\n", row.Name, row.Partitions, row.ReplicationFactor)
		keys := make([]string, 0, len(row.Configs))
		for k := range row.Configs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "Config:\t%s=%s\n", k, row.Configs[k])
		}
		fmt.Fprintln(tw, "\nPARTITION\tLEADER\tREPLICAS\tISR")
		for _, p := range row.PartitionDetails {
			fmt.Fprintf(tw, "%d\t%d\t%v\t%v\n", p.Partition, p.Leader, p.Replicas, p.ISR)
		}
	})
}

func topicDelete(c *cli.Context) error {
	name, err := topicArg(c)
	if err != nil {
		return err
	}
	s, err := openKafka(c, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := kadm.NewClient(s.client).DeleteTopic(c.Context, s.topic(name))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return s.kafkaError("deleting topic "+name, err)
	}
	fmt.Fprintf(c.App.ErrWriter, "Deleted topic %s.\n", name)
	return nil
}

// maxRecordLine is the longest line produce reads (Kafka's default max.message.bytes).
const maxRecordLine = 1 << 20

func topicProduce(c *cli.Context) error {
	name, err := topicArg(c)
	if err != nil {
		return err
	}
	parseKey, delim := c.Bool("parse-key"), c.String("delimiter")
	if parseKey && delim == "" {
		return usageError{errors.New("--delimiter is empty")}
	}
	s, err := openKafka(c, func(*kafkaSession) []kgo.Opt { return []kgo.Opt{kgo.ProducerLinger(0)} })
	if err != nil {
		return err
	}
	defer s.Close()
	topic := s.topic(name)
	sc := bufio.NewScanner(c.App.Reader)
	sc.Buffer(make([]byte, 64*1024), maxRecordLine)
	var n int
	var produceErr error
	for sc.Scan() {
		line := sc.Text()
		rec := &kgo.Record{Topic: topic, Value: []byte(line)}
		if parseKey {
			k, v, ok := strings.Cut(line, delim)
			if !ok {
				produceErr = fmt.Errorf("line %d has no %q between key and value (--parse-key)", n+1, delim)
				break
			}
			rec.Key, rec.Value = []byte(k), []byte(v)
		}
		if err := s.client.ProduceSync(c.Context, rec).FirstErr(); err != nil {
			produceErr = s.kafkaError("producing to "+name, err)
			break
		}
		n++
	}
	if produceErr == nil {
		produceErr = sc.Err()
	}
	fmt.Fprintf(c.App.ErrWriter, "Produced %d records to %s.\n", n, name)
	return produceErr
}

func topicConsume(c *cli.Context) error {
	name, err := topicArg(c)
	if err != nil {
		return err
	}
	maxMessages := c.Int("max-messages")
	if maxMessages < 0 {
		return usageError{fmt.Errorf("--max-messages: %d is negative", maxMessages)}
	}
	if t := c.Duration("timeout"); t < 0 {
		return usageError{fmt.Errorf("--timeout: %s is negative", t)}
	}
	offset := kgo.NewOffset().AtEnd()
	if c.Bool("from-beginning") {
		offset = kgo.NewOffset().AtStart()
	}
	group := c.String("group")
	if group != "" {
		if err := validTopicName(group); err != nil {
			return usageError{fmt.Errorf("--group: %w", err)}
		}
	}
	s, err := openKafka(c, func(s *kafkaSession) []kgo.Opt {
		opts := []kgo.Opt{kgo.ConsumeTopics(s.topic(name)), kgo.ConsumeResetOffset(offset)}
		if group != "" {
			// Only the records printed are committed: marked one by one, committed at the end
			// and, while consuming, by the client's periodic commits.
			opts = append(opts, kgo.ConsumerGroup(s.prefix+group), kgo.AutoCommitMarks())
		}
		return opts
	})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := c.Context
	if t := c.Duration("timeout"); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	var n int
	for maxMessages == 0 || n < maxMessages {
		fetches := s.client.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.Canceled) {
				fetchErr = err
			}
		})
		if fetchErr != nil {
			return s.kafkaError("consuming from "+name, fetchErr)
		}
		for _, r := range fetches.Records() {
			if c.Bool("print-key") {
				fmt.Fprintf(c.App.Writer, "%s%s%s\n", r.Key, c.String("delimiter"), r.Value)
			} else {
				fmt.Fprintf(c.App.Writer, "%s\n", r.Value)
			}
			s.client.MarkCommitRecords(r)
			n++
			if maxMessages > 0 && n >= maxMessages {
				break
			}
		}
	}
	if group != "" {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.CommitMarkedOffsets(cctx); err != nil {
			return s.kafkaError("committing offsets of "+name, err)
		}
	}
	if maxMessages > 0 && n < maxMessages {
		return fmt.Errorf("consumed %d of %d records from %s before --timeout", n, maxMessages, name)
	}
	return nil
}
