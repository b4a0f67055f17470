package leafnode

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats-server/v2/server"
)

// slogLogger adapts nats-server's logger to slog. Debug and trace go to slog's debug level.
type slogLogger struct{ log *slog.Logger }

var _ server.Logger = slogLogger{}

func (l slogLogger) Noticef(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
func (l slogLogger) Warnf(format string, v ...any)   { l.emit(slog.LevelWarn, format, v) }
func (l slogLogger) Fatalf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l slogLogger) Errorf(format string, v ...any)  { l.emit(slog.LevelError, format, v) }
func (l slogLogger) Debugf(format string, v ...any)  { l.emit(slog.LevelDebug, format, v) }
func (l slogLogger) Tracef(format string, v ...any)  { l.emit(slog.LevelDebug-4, format, v) }

func (l slogLogger) emit(level slog.Level, format string, v []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, fmt.Sprintf(format, v...))
}

// attachLogger installs log on s; a nil log keeps the server silent.
func attachLogger(s *server.Server, log *slog.Logger) {
	if log == nil {
		return
	}
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	s.SetLoggerV2(slogLogger{log: log}, debug, debug, false)
}
