package leafnode

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/kv"
)

// ReaderAPIPrefix is the JetStream API prefix of operators' read-only credentials: the
// stock CLI takes it as `nats --js-api-prefix`, nats.go as nats.APIPrefix or
// jetstream.NewWithAPIPrefix. A reader may not publish to $JS.API itself; the hub's reader
// gateway answers this prefix and passes on only the read-only requests.
const ReaderAPIPrefix = "$ORBIT.READER.API"

// MaxReaderConsumerInactivity bounds how long a reader's ephemeral consumer may outlive
// its last subscriber, so that an ephemeral consumer cannot stand in for a durable one.
const MaxReaderConsumerInactivity = time.Hour

// readerInbox is where readers receive replies and their consumers' messages (the
// clients' default inbox prefix).
const readerInbox = "_INBOX."

// readerGatewayQueue spreads the readers' requests over the nodes of a hub cluster.
const readerGatewayQueue = "orbit-reader-gateway"

// readerAPISubjects are the JetStream API requests (relative to the API prefix, nats
// wildcards) a reader may make: account info, stream names, lists and info, message and
// direct gets, consumer info and consumer creation, on the buckets' streams only.
func readerAPISubjects() []string {
	subs := []string{"INFO", "STREAM.NAMES", "STREAM.LIST"}
	for _, b := range []string{kv.BucketDesired, kv.BucketActual, kv.BucketSatellites} {
		st := kv.StreamName(b)
		subs = append(subs,
			"STREAM.INFO."+st,
			"STREAM.MSG.GET."+st,
			"DIRECT.GET."+st,
			"DIRECT.GET."+st+".>",
			"CONSUMER.CREATE."+st,
			"CONSUMER.CREATE."+st+".>",
			"CONSUMER.INFO."+st+".*",
		)
	}
	return subs
}

// gatewayPermissions are the reader gateway's own: it hears the readers' prefix,
// publishes their requests to the JetStream API, and answers a refused request once.
func gatewayPermissions() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{"$JS.API.>"}},
		Subscribe: &server.SubjectPermission{Allow: []string{ReaderAPIPrefix + ".>"}},
		Response:  &server.ResponsePermission{MaxMsgs: 1, Expires: time.Minute},
	}
}

// startReaderGateway connects the gateway in-process and serves the readers' API prefix:
// an allowed request is published to $JS.API with the reader's own reply subject, so the
// server answers the reader directly; anything else gets a JetStream API error. A consumer
// creation is passed on only for an ephemeral consumer (no durable name, no direct or
// sourcing consumer, inactivity threshold at most MaxReaderConsumerInactivity, delivering to
// an inbox if at all), and always
// with the "create" action: a name that already exists with another configuration is
// refused by the server, so a reader cannot update anybody's consumer either.
func startReaderGateway(srv *server.Server, kp nkeys.KeyPair, log *slog.Logger) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(srv), NKeyAuth(kp), nats.MaxReconnects(-1), nats.Name("orbit-reader-gateway"))
	if err != nil {
		return nil, fmt.Errorf("hub: reader gateway: %w", err)
	}
	allowed := readerAPISubjects()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	_, err = nc.QueueSubscribe(ReaderAPIPrefix+".>", readerGatewayQueue, func(m *nats.Msg) {
		api := strings.TrimPrefix(m.Subject, ReaderAPIPrefix+".")
		if !inboxSubject(m.Reply) {
			// Only to an inbox: the server's answer published to, say, a bucket's subject
			// would be a write. JetStream requests always have a reply subject.
			return
		}
		body, err := readerRequest(api, allowed, m.Data)
		if err != nil {
			log.Debug("reader request refused", "api", api, "err", err)
			_ = m.Respond(apiError(err))
			return
		}
		out := &nats.Msg{Subject: "$JS.API." + api, Reply: m.Reply, Header: m.Header, Data: body}
		if err := nc.PublishMsg(out); err != nil {
			log.Warn("reader gateway: forward", "api", api, "err", err)
		}
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("hub: reader gateway: %w", err)
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("hub: reader gateway: %w", err)
	}
	return nc, nil
}

// readerRequest checks one reader request (api relative to the prefix) and returns the
// body to pass on.
func readerRequest(api string, allowed []string, body []byte) ([]byte, error) {
	ok := false
	for _, a := range allowed {
		if subjectMatches(api, a) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%s is not allowed to a read-only credential", api)
	}
	if !strings.HasPrefix(api, "CONSUMER.CREATE.") {
		return body, nil
	}
	var req server.CreateConsumerRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("consumer create request: %w", err)
	}
	c := req.Config
	switch {
	case c.Durable != "":
		return nil, fmt.Errorf("durable consumer %q refused: a read-only credential creates ephemeral consumers only", c.Durable)
	case c.Direct || c.Sourcing:
		return nil, fmt.Errorf("direct and sourcing consumers are refused to a read-only credential")
	case c.InactiveThreshold > MaxReaderConsumerInactivity:
		return nil, fmt.Errorf("inactive_threshold %s is above %s for a read-only credential", c.InactiveThreshold, MaxReaderConsumerInactivity)
	case c.DeliverSubject != "" && !inboxSubject(c.DeliverSubject):
		// A push consumer delivering to, say, a bucket's subject would write to it.
		return nil, fmt.Errorf("deliver_subject %q refused: a read-only credential's consumers deliver to %s> only", c.DeliverSubject, readerInbox)
	case req.Action == server.ActionUpdate:
		return nil, fmt.Errorf("consumer updates are refused to a read-only credential")
	}
	req.Action = server.ActionCreate
	return json.Marshal(req)
}

// inboxSubject reports whether subj is a literal subject under readerInbox.
func inboxSubject(subj string) bool {
	return strings.HasPrefix(subj, readerInbox) && len(subj) > len(readerInbox) && !strings.ContainsAny(subj, "*> \t\r\n")
}

// subjectMatches reports whether the literal subject subj matches the pattern.
func subjectMatches(subj, pattern string) bool {
	s, p := strings.Split(subj, "."), strings.Split(pattern, ".")
	for i, t := range p {
		if t == ">" {
			return len(s) > i
		}
		if i >= len(s) || (t != "*" && t != s[i]) {
			return false
		}
	}
	return len(s) == len(p)
}

// apiError is a JetStream API error response, as clients parse it.
func apiError(err error) []byte {
	b, _ := json.Marshal(map[string]any{
		"type":  "io.nats.jetstream.api.v1.error_response",
		"error": map[string]any{"code": 403, "err_code": 10000, "description": "orbit: " + err.Error()},
	})
	return b
}
