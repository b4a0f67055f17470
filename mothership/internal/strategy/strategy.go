// Package strategy holds what both the frontend (validating what users ask) and the rollout
// controller (carrying it out) need to know of rollout strategies and maintenance windows:
// the default strategy, failure budgets, and when a window is open. It writes nothing.
package strategy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

// CanaryLabel marks the clusters a default rollout starts with (canary=true).
const CanaryLabel = "canary"

// DefaultStrategy is the strategy of a rollout that names none (what `orbit profile set`
// creates): one canary cluster (the first cluster labelled canary=true by id, else the
// cluster with the lowest id), then 10% of the clusters, then half, then the rest, each
// wave once the one before is healthy. Never the whole fleet at once.
func DefaultStrategy() api.RolloutStrategy {
	return api.RolloutStrategy{Waves: []api.Wave{
		{Name: "canary", Count: 1}, {Name: "10%", Percent: 10}, {Name: "50%", Percent: 50}, {Name: "rest"},
	}}
}

// Budget is how many of n clusters may fail: a count or a percentage (rounded down).
func Budget(s string, n int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 100 {
			return 0, fmt.Errorf("failureBudget: %q is not a percentage between 0%% and 100%%", s)
		}
		return n * v / 100, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("failureBudget: %q is neither a count nor a percentage", s)
	}
	return v, nil
}

// days maps the day names of a weekly window.
var days = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ValidateWindow checks a maintenance window, naming the field at fault.
func ValidateWindow(w *api.MaintenanceWindow) error {
	kind, name, ok := strings.Cut(w.Scope, ":")
	if !ok || name == "" || (kind != "cluster" && kind != "satellite" && kind != "region") {
		return fmt.Errorf("scope: %q is not cluster:<id>, satellite:<name> or region:<name>", w.Scope)
	}
	for i, ww := range w.Weekly {
		if _, ok := days[ww.Day]; !ok {
			return fmt.Errorf("weekly[%d].day: %q is not one of mon, tue, wed, thu, fri, sat, sun", i, ww.Day)
		}
		if _, err := time.Parse("15:04", ww.Start); err != nil {
			return fmt.Errorf("weekly[%d].start: %q is not HH:MM", i, ww.Start)
		}
		if ww.Duration <= 0 || time.Duration(ww.Duration) > 7*24*time.Hour {
			return fmt.Errorf("weekly[%d].duration: must be between 1s and 168h", i)
		}
	}
	for i, e := range w.Exclusions {
		if !e.To.After(e.From) {
			return fmt.Errorf("exclusions[%d]: to must be after from", i)
		}
	}
	return nil
}

// Open reports whether w allows a change to start at now, and if not, the next time it
// does within a week (zero if none).
func Open(w api.MaintenanceWindow, now time.Time) (bool, time.Time) {
	now = now.UTC()
	if allowed(w, now) {
		return true, time.Time{}
	}
	// The next opening: a window start or an exclusion end, whichever comes first and is allowed.
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) && allowed(w, t) {
			next = t
		}
	}
	for _, e := range w.Exclusions {
		consider(e.To.UTC())
	}
	for d := 0; d <= 7; d++ {
		day := now.AddDate(0, 0, d)
		for _, ww := range w.Weekly {
			if days[ww.Day] != day.Weekday() {
				continue
			}
			hm, _ := time.Parse("15:04", ww.Start)
			consider(time.Date(day.Year(), day.Month(), day.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC))
		}
	}
	return false, next
}

// allowed: inside a weekly window (or there are none) and outside every exclusion.
func allowed(w api.MaintenanceWindow, t time.Time) bool {
	for _, e := range w.Exclusions {
		if !t.Before(e.From) && t.Before(e.To) {
			return false
		}
	}
	if len(w.Weekly) == 0 {
		return true
	}
	for _, ww := range w.Weekly {
		hm, _ := time.Parse("15:04", ww.Start)
		for back := 0; back <= 7; back++ {
			day := t.AddDate(0, 0, -back)
			if days[ww.Day] != day.Weekday() {
				continue
			}
			start := time.Date(day.Year(), day.Month(), day.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC)
			if !t.Before(start) && t.Before(start.Add(time.Duration(ww.Duration))) {
				return true
			}
		}
	}
	return false
}
