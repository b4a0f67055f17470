// Package metricslisten serves a binary's Prometheus metrics on a listener of their own
// (`--metrics-listen`, ORBIT_METRICS_LISTEN), apart from the API, so that the scrape port
// can be opened to the monitoring network only. It owns no state.
package metricslisten

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
)

// Flag is the listen address flag; empty serves no metrics.
var Flag = &cli.StringFlag{Name: "metrics-listen", Usage: "Serve Prometheus metrics (/metrics) here, e.g. 0.0.0.0:9100 (empty: off)", EnvVars: []string{"ORBIT_METRICS_LISTEN"}}

// Serve listens on addr and serves paths (path → handler) until ctx ends; an empty addr
// serves nothing. It returns once it listens, with the address it listens on.
func Serve(ctx context.Context, addr string, paths map[string]http.Handler, log *slog.Logger) (string, error) {
	if addr == "" {
		return "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	for p, h := range paths {
		mux.Handle("GET "+p, h)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener stopped", "error", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info("metrics listening", "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}

// Later is a handler for what starts after the listener: it answers 503 until Set.
type Later struct{ h atomic.Pointer[http.Handler] }

// Set installs the handler that serves from now on.
func (l *Later) Set(h http.Handler) { l.h.Store(&h) }

func (l *Later) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "not started yet", http.StatusServiceUnavailable)
}
