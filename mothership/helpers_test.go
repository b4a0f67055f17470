package mothership

import (
	"log/slog"
	"os"
)

func testLogger() *slog.Logger {
	if os.Getenv("ORBIT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
