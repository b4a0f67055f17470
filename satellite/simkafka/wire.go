package simkafka

import (
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata and ApiVersions are answered by kfake and rewritten by the harness on their way
// out of a broker's connection: kfake's Metadata keeps what only it knows (the topics a
// principal may see under its ACLs, topic ids, leader epochs) and the harness replaces the
// brokers (alive ones, with racks) and each partition's leader, replicas, ISR and offline
// replicas with the placement model's. ApiVersions gains DescribeQuorum and
// UnregisterBroker, which the harness serves and kfake does not list, and the harness's
// metadata.version (features.go). kfake writes each
// response with one Write and answers a connection's requests in order; the requests'
// headers, read as they pass, say which response is which.

// wireConn watches one connection's requests and rewrites the responses it must.
type wireConn struct {
	net.Conn
	place *placement

	rmu     sync.Mutex
	in      []byte // an incomplete request header
	skip    int    // request body bytes still to pass
	pending map[int32]wireReq
}

type wireReq struct {
	key, version int16
}

func (c *wireConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.observe(b[:n])
	return n, err
}

// observe follows the request stream: size (4), key (2), version (2), correlation id (4).
func (c *wireConn) observe(b []byte) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(b) > 0 {
		if c.skip > 0 {
			n := min(c.skip, len(b))
			c.skip -= n
			b = b[n:]
			continue
		}
		need := 12 - len(c.in)
		n := min(need, len(b))
		c.in = append(c.in, b[:n]...)
		b = b[n:]
		if len(c.in) < 12 {
			return
		}
		size := int(binary.BigEndian.Uint32(c.in[:4]))
		key := int16(binary.BigEndian.Uint16(c.in[4:6]))
		version := int16(binary.BigEndian.Uint16(c.in[6:8]))
		corr := int32(binary.BigEndian.Uint32(c.in[8:12]))
		c.in = c.in[:0]
		c.skip = max(size-8, 0)
		if key == kmsg.Metadata.Int16() || key == kmsg.ApiVersions.Int16() {
			if c.pending == nil {
				c.pending = map[int32]wireReq{}
			}
			c.pending[corr] = wireReq{key, version}
		}
	}
}

func (c *wireConn) Write(b []byte) (int, error) {
	if len(b) < 8 || int(binary.BigEndian.Uint32(b[:4])) != len(b)-4 {
		return c.Conn.Write(b)
	}
	corr := int32(binary.BigEndian.Uint32(b[4:8]))
	c.rmu.Lock()
	req, ok := c.pending[corr]
	delete(c.pending, corr)
	c.rmu.Unlock()
	if !ok {
		return c.Conn.Write(b)
	}
	if out, ok := c.place.rewrite(req, b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// rewrite returns the frame with the harness's answer in it, or false to pass it on.
func (p *placement) rewrite(req wireReq, frame []byte) ([]byte, bool) {
	resp := kmsg.ResponseForKey(req.key)
	resp.SetVersion(req.version)
	hdr := 8
	if resp.IsFlexible() && req.key != kmsg.ApiVersions.Int16() {
		hdr = 9 // kfake writes an empty tag section
	}
	if len(frame) < hdr || resp.ReadFrom(frame[hdr:]) != nil {
		return nil, false
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		p.rewriteMetadata(r)
	case *kmsg.ApiVersionsResponse:
		if r.ErrorCode != 0 {
			return nil, false
		}
		p.c.rewriteFeatures(r)
		for _, k := range []struct{ key, max int16 }{{kmsg.DescribeQuorum.Int16(), 2}, {kmsg.UnregisterBroker.Int16(), 0}} {
			if !slices.ContainsFunc(r.ApiKeys, func(a kmsg.ApiVersionsResponseApiKey) bool { return a.ApiKey == k.key }) {
				a := kmsg.NewApiVersionsResponseApiKey()
				a.ApiKey, a.MinVersion, a.MaxVersion = k.key, 0, k.max
				r.ApiKeys = append(r.ApiKeys, a)
			}
		}
	default:
		return nil, false
	}
	out := append([]byte(nil), frame[:hdr]...)
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out[:4], uint32(len(out)-4))
	return out, true
}

func (p *placement) rewriteMetadata(r *kmsg.MetadataResponse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	brokers := r.Brokers[:0]
	for _, b := range r.Brokers {
		nd := p.nodes[b.NodeID]
		if b.NodeID != ControllerNodeID && !p.alive(b.NodeID) {
			continue
		}
		b.Rack = nil
		if nd != nil && nd.rack != "" {
			b.Rack = kmsg.StringPtr(nd.rack)
		}
		brokers = append(brokers, b)
	}
	r.Brokers = brokers
	known := make([]*ptopic, len(r.Topics))
	for ti, t := range r.Topics {
		if t.Topic == nil || t.ErrorCode != 0 {
			continue
		}
		n := 0
		for _, part := range t.Partitions {
			n = max(n, int(part.Partition)+1)
		}
		known[ti] = p.materializeLocked(*t.Topic, t.TopicID, n)
	}
	p.settleLocked(time.Now())
	for ti := range r.Topics {
		t, mt := &r.Topics[ti], known[ti]
		if mt == nil {
			continue
		}
		for pi := range t.Partitions {
			part := &t.Partitions[pi]
			if part.ErrorCode != 0 && part.ErrorCode != kerr.LeaderNotAvailable.Code {
				continue
			}
			pp := mt.parts[part.Partition]
			all, _, _ := fullReplicas(pp)
			part.Replicas, part.ISR, part.OfflineReplicas = all, p.isrLocked(pp), nil
			for _, n := range all {
				if !p.alive(n) {
					part.OfflineReplicas = append(part.OfflineReplicas, n)
				}
			}
			part.Leader, part.ErrorCode = pp.leader, 0
			if pp.leader < 0 {
				part.ErrorCode = kerr.LeaderNotAvailable.Code
			}
		}
	}
}

func splitHostPort(hostport string) (string, int32) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, ClientPort
	}
	n, _ := strconv.Atoi(port)
	return host, int32(n)
}
