// Package logging gives every Orbit binary the same logger: `--log-format text|json` and
// `--log-level` (ORBIT_LOG_FORMAT, ORBIT_LOG_LEVEL), one slog handler on stderr that also
// receives client-go's klog, the standard library's log package and, through the logger
// handed to leafnode, the embedded nats-server. In JSON mode every line on stderr is one
// JSON object, including the error a command exits with (see Exit).
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"
	"k8s.io/klog/v2"
)

// Flags are the application flags every binary carries.
func Flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Usage: "Log format: text or json", Value: "text", EnvVars: []string{"ORBIT_LOG_FORMAT"}},
		&cli.StringFlag{Name: "log-level", Usage: "Log level: debug, info, warn or error", Value: "info", EnvVars: []string{"ORBIT_LOG_LEVEL"}},
	}
}

// current is the logger Setup installed last; Exit uses it so that a command's final
// error has the format of every other line.
var current *slog.Logger

// Setup builds the logger the flags ask for, writing to w, and routes klog and the
// standard log package into it.
func Setup(c *cli.Context, w io.Writer) (*slog.Logger, error) {
	log, err := New(c.String("log-format"), c.String("log-level"), w)
	if err != nil {
		return nil, err
	}
	Use(log)
	return log, nil
}

// Use makes log the process's logger: slog's default, klog's and the one Exit reports with.
func Use(log *slog.Logger) {
	slog.SetDefault(log)
	klog.SetSlogLogger(log)
	current = log
}

// New builds a logger of the given format and level.
func New(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: %q is neither text nor json", format)
	}
}

// Exit reports err the way the binary logs (a plain "prog: message" line before any
// logger was set up or in text mode, a JSON error record in JSON mode) and exits with code.
func Exit(prog string, err error, code int) {
	if current != nil && isJSON(current) {
		current.Error(prog+" failed", "error", err.Error())
	} else {
		fmt.Fprintln(os.Stderr, prog+": "+err.Error())
	}
	os.Exit(code)
}

func isJSON(l *slog.Logger) bool {
	_, ok := l.Handler().(*slog.JSONHandler)
	return ok
}
