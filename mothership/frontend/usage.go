package frontend

import (
	"net/http"
	"time"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/mothership/api"
)

// usage reports the tenant's usage per hour and cluster, between from and to (default the
// last 24 hours).
func (f *Frontend) usage(w http.ResponseWriter, r *http.Request, p *principal) error {
	to, from := time.Now().UTC(), time.Now().UTC().Add(-24*time.Hour)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return invalid(name, "%q is not an RFC 3339 time", v)
			}
			*dst = t
		}
	}
	if !to.After(from) {
		return invalid("to", "must be after from")
	}
	rows, err := f.store.Read().ListUsage(r.Context(), db.ListUsageParams{
		TenantID: p.TenantID, FromHour: from.Truncate(time.Hour).UnixMilli(), ToHour: to.UnixMilli(),
	})
	if err != nil {
		return err
	}
	out := make([]api.Usage, 0, len(rows))
	for _, u := range rows {
		out = append(out, api.Usage{Hour: db.Time(u.Hour), ClusterID: u.LogicalClusterID, Cluster: u.Name,
			CKUHours: float64(u.CkuMs) / 3.6e6, StorageGiBHours: float64(u.StorageGibMs) / 3.6e6,
			PartitionHours: float64(u.PartitionMs) / 3.6e6})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
