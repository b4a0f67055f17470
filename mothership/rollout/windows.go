package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/mothership/api"
)

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

// windowSet is every maintenance window by scope, and each satellite's region.
type windowSet struct {
	byScope map[string]api.MaintenanceWindow
	region  map[string]string
}

func (c *Controller) windows(ctx context.Context, q rolloutdb.Queries) (*windowSet, error) {
	rows, err := q.ListMaintenanceWindows(ctx)
	if err != nil {
		return nil, err
	}
	ws := &windowSet{byScope: map[string]api.MaintenanceWindow{}, region: map[string]string{}}
	for _, row := range rows {
		var w api.MaintenanceWindow
		if err := json.Unmarshal([]byte(row.Spec), &w); err != nil {
			return nil, fmt.Errorf("maintenance window %s: %w", row.Scope, err)
		}
		ws.byScope[row.Scope] = w
	}
	for _, s := range c.cfg.Satellites() {
		ws.region[s.Name] = s.Region
	}
	return ws, nil
}

// open reports whether a change of the cluster may start at now, and if not, when the
// next window opens (zero: not within a week).
func (ws *windowSet) open(cluster, satellite string, now time.Time) (bool, time.Time) {
	w, ok := ws.byScope["cluster:"+cluster]
	if !ok {
		w, ok = ws.byScope["satellite:"+satellite]
	}
	if !ok {
		w, ok = ws.byScope["region:"+ws.region[satellite]]
	}
	if !ok {
		return true, time.Time{}
	}
	return Open(w, now)
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
