package simkafka

import (
	"io"
	"log/slog"
	"net"
	"sync"
)

// listener is a broker's listener: it advertises the broker's name (kfake puts
// Addr().String() into metadata, as Kafka puts advertised.listeners), and closing it closes
// every connection it accepted, as a broker process that goes away would.
type listener struct {
	net.Listener
	ip         string
	advertised string
	release    func()
	wrap       func(net.Conn) net.Conn // what serves an accepted connection; nil: itself

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newListener(ln net.Listener, ip, advertised string, release func()) *listener {
	return &listener{Listener: ln, ip: ip, advertised: advertised, release: release, conns: map[net.Conn]struct{}{}}
}

// addr is where the listener accepts connections.
func (l *listener) addr() string { return l.Listener.Addr().String() }

// Addr is the advertised address.
func (l *listener) Addr() net.Addr { return advertisedAddr(l.advertised) }

func (l *listener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		conn.Close()
		return nil, net.ErrClosed
	}
	l.conns[conn] = struct{}{}
	var served net.Conn = &trackedConn{Conn: conn, ln: l}
	if l.wrap != nil {
		served = l.wrap(served)
	}
	return served, nil
}

func (l *listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	conns := l.conns
	l.conns = nil
	l.mu.Unlock()
	err := l.Listener.Close()
	for conn := range conns {
		conn.Close()
	}
	l.release()
	return err
}

type trackedConn struct {
	net.Conn
	ln *listener
}

func (c *trackedConn) Close() error {
	c.ln.mu.Lock()
	delete(c.ln.conns, c.Conn)
	c.ln.mu.Unlock()
	return c.Conn.Close()
}

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// forwarder is a cluster's bootstrap load balancer: a TCP forwarder from its own loopback
// address to a running broker, chosen per connection. TLS passes through it untouched, so
// the client's handshake is with the broker.
type forwarder struct {
	ln   *listener
	pick func() (string, bool)
	log  *slog.Logger
	wg   sync.WaitGroup
}

func newForwarder(ln net.Listener, pick func() (string, bool), log *slog.Logger) *forwarder {
	ip, _, _ := net.SplitHostPort(ln.Addr().String())
	f := &forwarder{ln: newListener(ln, ip, ln.Addr().String(), func() {}), pick: pick, log: log}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.forward(conn)
		}()
	}
}

func (f *forwarder) forward(conn net.Conn) {
	defer conn.Close()
	addr, ok := f.pick()
	if !ok {
		return // no broker runs: the load balancer has no healthy backend
	}
	backend, err := net.Dial("tcp", addr)
	if err != nil {
		f.log.Debug("simkafka: bootstrap backend", "addr", addr, "error", err)
		return
	}
	defer backend.Close()
	// Kafka never half-closes: when either side ends, the connection is over.
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(backend, conn)
	go pipe(conn, backend)
	<-done
	conn.Close()
	backend.Close()
	<-done
}

// Close stops accepting, closes every forwarded connection and waits for them.
func (f *forwarder) Close() {
	_ = f.ln.Close()
	f.wg.Wait()
}
