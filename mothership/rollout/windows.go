package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/orbitcp/orbit/db/rolloutdb"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/internal/strategy"
)

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
	return strategy.Open(w, now)
}
