package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/orbitcp/orbit/mothership/api"
)

// page is one console page: its route, what it loads (through the API, as the session's
// principal) and its template. The template named name renders the whole page; the one
// named name+"-live" the part that live updates replace. A rollout page is one more entry.
type page struct {
	route string
	name  string
	load  func(ctx context.Context, r *http.Request, s Session) (any, error)
}

func (c *Console) definePages() []page {
	return []page{
		{route: Prefix + "/{$}", name: "fleet", load: c.loadFleet},
		{route: Prefix + "/clusters/{name}", name: "cluster", load: c.loadCluster},
		{route: Prefix + "/rollouts", name: "rollouts", load: c.loadRollouts},
		{route: Prefix + "/rollouts/{id}", name: "rollout", load: c.loadRollout},
	}
}

// action is one button: a POST that becomes an API call as the session's principal.
type action struct {
	route string
	// call is the API request; next where the browser goes once it succeeded.
	call func(r *http.Request) apiCall
}

// apiCall is an API request an action makes (body: JSON or nil) and the page to go to next.
type apiCall struct {
	method, path string
	body         []byte
	next         string
}

// rolloutActions are the rollout page's buttons: the API's pause, resume and abort, which
// only operators may take (the API refuses anyone else).
var rolloutActions = []string{"pause", "resume", "abort"}

func (c *Console) actions() []action {
	cluster := func(r *http.Request) string { return url.PathEscape(r.PathValue("name")) }
	out := []action{
		{route: Prefix + "/clusters/{name}/rotate-certificates", call: func(r *http.Request) apiCall {
			return apiCall{method: http.MethodPost, path: "/v1/clusters/" + cluster(r) + "/rotate-certificates", next: Prefix + "/clusters/" + cluster(r)}
		}},
		{route: Prefix + "/clusters/{name}/delete", call: func(r *http.Request) apiCall {
			return apiCall{method: http.MethodDelete, path: "/v1/clusters/" + cluster(r), next: Prefix + "/"}
		}},
	}
	for _, name := range rolloutActions {
		body, _ := json.Marshal(api.RolloutAction{Action: name})
		out = append(out, action{route: Prefix + "/rollouts/{id}/" + name, call: func(r *http.Request) apiCall {
			id := url.PathEscape(r.PathValue("id"))
			return apiCall{method: http.MethodPost, path: "/v1/rollouts/" + id + "/actions", body: body, next: Prefix + "/rollouts/" + id}
		}})
	}
	return out
}

// apiError is a non-2xx answer of the API, shown as the page's error.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

// get calls the API as s and decodes the answer into out.
func (c *Console) get(ctx context.Context, s Session, path string, out any) error {
	return c.call(ctx, s, http.MethodGet, path, out)
}

func (c *Console) call(ctx context.Context, s Session, method, path string, out any) error {
	return c.callWith(ctx, s, method, path, nil, out)
}

// callWith is call with a JSON request body.
func (c *Console) callWith(ctx context.Context, s Session, method, path string, reqBody []byte, out any) error {
	code, body := c.cfg.Backend.Call(ctx, s, method, path, reqBody)
	if code < 200 || code > 299 {
		var eb api.ErrorBody
		msg := http.StatusText(code)
		if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
			msg = eb.Error.Message
		}
		return &apiError{code: code, msg: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("console: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// frame is what every page template gets.
type frame struct {
	Principal
	CSRF      string
	MayChange bool
	Title     string
	Data      any
}

func (c *Console) servePage(p page) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s Session) {
		if isStream(r) {
			c.stream(w, r, s, p)
			return
		}
		data, err := p.load(r.Context(), r, s)
		if err != nil {
			c.pageError(w, err)
			return
		}
		c.render(w, http.StatusOK, p.name, c.frame(s, p.name, data))
	}
}

func (c *Console) frame(s Session, title string, data any) frame {
	return frame{Principal: s.Principal, CSRF: csrfToken(s.ID), MayChange: s.mayChange(), Title: title, Data: data}
}

func (c *Console) pageError(w http.ResponseWriter, err error) {
	if ae, ok := err.(*apiError); ok {
		c.renderError(w, ae.code, ae.msg)
		return
	}
	c.cfg.Log.Error("console page", "error", err)
	c.renderError(w, http.StatusInternalServerError, "Internal error.")
}

func (c *Console) serveAction(a action) sessionHandler {
	return func(w http.ResponseWriter, r *http.Request, s Session) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if !validCSRF(r, csrfToken(s.ID)) {
			c.renderError(w, http.StatusForbidden, "Missing or wrong CSRF token: reload the page and try again.")
			return
		}
		ac := a.call(r)
		if err := c.callWith(r.Context(), s, ac.method, ac.path, ac.body, nil); err != nil {
			c.pageError(w, err)
			return
		}
		http.Redirect(w, r, ac.next, http.StatusSeeOther)
	}
}

// stuckAfter is how long a cluster may stay short of ready (or deleted) before the fleet
// page lists it as needing attention.
const stuckAfter = 10 * time.Minute

// clusterRow is a cluster in the fleet's list; Linked when the caller's tenant owns it (an
// operator lists every tenant's clusters, but the cluster pages are per tenant, like the API).
type clusterRow struct {
	api.Cluster
	Linked bool
}

type count struct {
	Key string
	N   int
}

// attention is a cluster or (Rollout set) a rollout that needs an eye first.
type attention struct {
	Cluster clusterRow
	Rollout string
	Why     string
}

type fleetData struct {
	Operator   bool
	Satellites []api.Satellite
	Clusters   []clusterRow
	ByPhase    []count
	ByProduct  []count
	ByRegion   []count
	Attention  []attention
}

func (c *Console) loadFleet(ctx context.Context, _ *http.Request, s Session) (any, error) {
	var own []api.Cluster
	if err := c.get(ctx, s, "/v1/clusters", &own); err != nil {
		return nil, err
	}
	d := fleetData{Operator: s.Role == api.RoleOperator}
	mine := map[string]bool{}
	for _, cl := range own {
		mine[cl.ID] = true
	}
	all := own
	if d.Operator {
		all = nil
		if err := c.get(ctx, s, "/v1/clusters?all=true", &all); err != nil {
			return nil, err
		}
		if err := c.get(ctx, s, "/v1/satellites", &d.Satellites); err != nil {
			return nil, err
		}
		sort.Slice(d.Satellites, func(i, j int) bool { return d.Satellites[i].Name < d.Satellites[j].Name })
		var rollouts []api.Rollout
		if err := c.get(ctx, s, "/v1/rollouts", &rollouts); err != nil {
			return nil, err
		}
		for _, ro := range rollouts {
			if ro.State == api.RolloutPaused {
				d.Attention = append(d.Attention, attention{Rollout: ro.ID, Why: "rollout paused: " + ro.Reason})
			}
		}
	}
	phases, products, regions := map[string]int{}, map[string]int{}, map[string]int{}
	for _, cl := range all {
		row := clusterRow{Cluster: cl, Linked: mine[cl.ID]}
		d.Clusters = append(d.Clusters, row)
		phases[cl.Status.Phase]++
		products[cl.Product]++
		regions[cl.Region]++
		if why := needsAttention(cl, time.Now()); why != "" {
			d.Attention = append(d.Attention, attention{Cluster: row, Why: why})
		}
	}
	sort.Slice(d.Clusters, func(i, j int) bool { return d.Clusters[i].Name < d.Clusters[j].Name })
	d.ByPhase, d.ByProduct, d.ByRegion = counts(phases), counts(products), counts(regions)
	return d, nil
}

// needsAttention says why a cluster needs an operator's eye first, or "".
func needsAttention(cl api.Cluster, now time.Time) string {
	if stalled, why := cl.Stalled(); stalled {
		return "stalled: " + why
	}
	switch cl.Status.Phase {
	case api.PhaseDegraded:
		return "degraded: " + cl.Status.Reason
	case api.PhaseReady, api.PhaseDeleted:
		return ""
	}
	if since := now.Sub(cl.UpdatedAt); since > stuckAfter {
		return fmt.Sprintf("stuck %s for %s: %s", cl.Status.Phase, since.Round(time.Minute), cl.Status.Reason)
	}
	return ""
}

func counts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{Key: k, N: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

type clusterData struct {
	Cluster   api.Cluster
	History   []api.HistoryEntry
	KafkaKeys []api.KafkaAPIKey
	Kafka     bool
}

func (c *Console) loadCluster(ctx context.Context, r *http.Request, s Session) (any, error) {
	name := url.PathEscape(r.PathValue("name"))
	var d clusterData
	if err := c.get(ctx, s, "/v1/clusters/"+name, &d.Cluster); err != nil {
		return nil, err
	}
	if err := c.get(ctx, s, "/v1/clusters/"+name+"/history", &d.History); err != nil {
		return nil, err
	}
	// Newest first: the latest change is what one looks for.
	for i, j := 0, len(d.History)-1; i < j; i, j = i+1, j-1 {
		d.History[i], d.History[j] = d.History[j], d.History[i]
	}
	d.Kafka = d.Cluster.Product == "kafka" && d.Cluster.DeletedAt == nil
	if d.Kafka {
		if err := c.get(ctx, s, "/v1/clusters/"+name+"/api-keys", &d.KafkaKeys); err != nil {
			return nil, err
		}
		// The API never returns a secret in a list; the console makes sure of it.
		for i := range d.KafkaKeys {
			d.KafkaKeys[i].Secret = ""
		}
	}
	return d, nil
}

// rolloutStates are the states of a rollout's clusters, in the order the page shows them.
var rolloutStates = []string{api.TargetDone, api.TargetRolling, api.TargetWindow, api.TargetWaiting, api.TargetOffline,
	api.TargetFailed, api.TargetSkipped, api.TargetPinned, api.TargetSuperseded}

type rolloutsData struct {
	Rollouts []api.Rollout
}

// loadRollouts lists the rollouts, newest first. Only operators may read them (the API
// answers anyone else 403, which the page shows).
func (c *Console) loadRollouts(ctx context.Context, _ *http.Request, s Session) (any, error) {
	var d rolloutsData
	if err := c.get(ctx, s, "/v1/rollouts", &d.Rollouts); err != nil {
		return nil, err
	}
	sort.SliceStable(d.Rollouts, func(i, j int) bool { return d.Rollouts[i].CreatedAt.After(d.Rollouts[j].CreatedAt) })
	return d, nil
}

// waveRow is one wave of a rollout: its clusters counted by state (in rolloutStates'
// order), and the clusters themselves.
type waveRow struct {
	Number  int // 1-based
	Current bool
	Counts  []count
	Total   int
	Targets []api.RolloutTarget
}

type rolloutData struct {
	Rollout  api.Rollout
	Active   bool
	Waves    []waveRow
	Failures []api.RolloutTarget
	Windows  []api.MaintenanceWindow
	History  []api.RolloutEvent
}

func (c *Console) loadRollout(ctx context.Context, r *http.Request, s Session) (any, error) {
	id := url.PathEscape(r.PathValue("id"))
	var d rolloutData
	if err := c.get(ctx, s, "/v1/rollouts/"+id, &d.Rollout); err != nil {
		return nil, err
	}
	if err := c.get(ctx, s, "/v1/windows", &d.Windows); err != nil {
		return nil, err
	}
	ro := d.Rollout
	d.Active = ro.State == api.RolloutRunning || ro.State == api.RolloutPaused || ro.State == api.RolloutPending
	d.Waves = make([]waveRow, ro.Waves)
	for i := range d.Waves {
		d.Waves[i] = waveRow{Number: i + 1, Current: d.Active && i == ro.Wave}
	}
	byWave := make([]map[string]int, ro.Waves)
	for _, t := range ro.Targets {
		if t.Wave < 0 || t.Wave >= len(d.Waves) {
			continue
		}
		d.Waves[t.Wave].Targets = append(d.Waves[t.Wave].Targets, t)
		if byWave[t.Wave] == nil {
			byWave[t.Wave] = map[string]int{}
		}
		byWave[t.Wave][t.State]++
		if t.State == api.TargetFailed {
			d.Failures = append(d.Failures, t)
		}
	}
	for i, m := range byWave {
		for _, st := range rolloutStates {
			if m[st] > 0 {
				d.Waves[i].Counts = append(d.Waves[i].Counts, count{Key: st, N: m[st]})
				d.Waves[i].Total += m[st]
			}
		}
	}
	// Newest first, like the cluster page's history.
	d.History = slices.Clone(ro.History)
	slices.Reverse(d.History)
	return d, nil
}
