package testkit

import (
	"errors"
	"testing"
	"time"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	err := PollEvery(5*time.Second, time.Millisecond, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
}

func TestPollReturnsTheLastErrorAtTheDeadline(t *testing.T) {
	last := errors.New("still not")
	start := time.Now()
	if err := Poll(50*time.Millisecond, func() error { return last }); err != last {
		t.Fatalf("err %v, want %v", err, last)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %v, before the timeout", waited)
	}
}
