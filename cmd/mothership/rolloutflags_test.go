package main

import (
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// TestRolloutTimings: the rollout interval and the satellite heartbeat timeout come from
// their flags or environment variables, default to the controller's defaults, and a value
// that is not positive is refused naming the flag.
func TestRolloutTimings(t *testing.T) {
	parse := func(args ...string) (time.Duration, time.Duration, error) {
		var interval, timeout time.Duration
		var err error
		app := &cli.App{Flags: rolloutFlags, Action: func(c *cli.Context) error {
			interval, timeout, err = rolloutTimings(c)
			return nil
		}}
		if runErr := app.Run(append([]string{"mothership"}, args...)); runErr != nil {
			t.Fatalf("%v: %v", args, runErr)
		}
		return interval, timeout, err
	}
	if i, h, err := parse(); err != nil || i != time.Second || h != 30*time.Second {
		t.Fatalf("defaults: %s %s %v", i, h, err)
	}
	if i, h, err := parse("--rollout-interval", "250ms", "--satellite-heartbeat-timeout", "2m"); err != nil || i != 250*time.Millisecond || h != 2*time.Minute {
		t.Fatalf("flags: %s %s %v", i, h, err)
	}
	t.Setenv("ORBIT_ROLLOUT_INTERVAL", "5s")
	t.Setenv("ORBIT_SATELLITE_HEARTBEAT_TIMEOUT", "45s")
	if i, h, err := parse(); err != nil || i != 5*time.Second || h != 45*time.Second {
		t.Fatalf("environment: %s %s %v", i, h, err)
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"--rollout-interval", "0s"}},
		{[]string{"--satellite-heartbeat-timeout", "-1s"}},
	} {
		if _, _, err := parse(tc.args...); err == nil || !strings.Contains(err.Error(), tc.args[0]) {
			t.Fatalf("%v: %v, want an error naming %s", tc.args, err, tc.args[0])
		}
	}
}
