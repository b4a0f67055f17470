package leafnode

import (
	"fmt"
	"net"
	"strconv"
)

// splitListen parses "host:port" where port may be -1 (a random free port, as in
// nats-server's options).
func splitListen(field, addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %q is not host:port: %w", field, addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("%s: %q has an invalid port", field, addr)
	}
	if port == 0 {
		port = -1
	}
	return host, port, nil
}
