package frontend

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/frontenddb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/mothership/api"
	"github.com/orbitcp/orbit/mothership/console"
	"github.com/orbitcp/orbit/mothership/events"
	"github.com/orbitcp/orbit/mothership/internal/controller"
	"github.com/orbitcp/orbit/mothership/internal/ids"
	"github.com/orbitcp/orbit/mothership/internal/profile"
	"github.com/orbitcp/orbit/mothership/internal/registry"
	"github.com/orbitcp/orbit/mothership/status"
)

// Frontend is the REST API and the console's backend. It validates every request and writes the tables it owns
// (logical_clusters, cluster_history, tenants, api_keys, profiles, console_sessions) together with the
// change's event, in one transaction. It never writes what another service owns.
type Frontend struct {
	store    frontenddb.Store
	registry *registry.Registry
	log      *slog.Logger
	ready    func() (bool, []api.Layer)
	leader   func(context.Context) (api.Leader, error)
	// controllers are the event-driven controllers, for /v1/controllers.
	controllers []*controller.Controller
	// retention is how long a deleted cluster can be undeleted (its volumes are kept).
	retention time.Duration
	// credentialKey is the mothership's curve key: Kafka credentials are sealed to it.
	credentialKey nkeys.KeyPair
	// console is the browser console Handler mounts under /console.
	console *console.Console
}

// Config is what the frontend reads and reports on.
type Config struct {
	Store    *db.Store
	Registry *registry.Registry
	Log      *slog.Logger
	// Ready reports the mothership's layers, for /readyz.
	Ready func() (bool, []api.Layer)
	// Leader reports who leads the replicas, for /readyz and GET /v1/leader.
	Leader func(context.Context) (api.Leader, error)
	// Controllers are reported by /v1/controllers.
	Controllers []*controller.Controller
	// Retention is how long a deleted cluster can be undeleted.
	Retention time.Duration
	// CredentialKey is the mothership's curve key pair (nkeys): Kafka API keys' credentials
	// are stored sealed to it. Without one, creating Kafka API keys fails.
	CredentialKey nkeys.KeyPair
}

// New returns the API.
func New(cfg Config) *Frontend {
	return &Frontend{store: frontenddb.New(cfg.Store), registry: cfg.Registry, log: cfg.Log, ready: cfg.Ready, leader: cfg.Leader,
		controllers: cfg.Controllers, retention: cfg.Retention, credentialKey: cfg.CredentialKey}
}

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
)

// notFoundErr is a 404 that names the field that named what is missing.
type notFoundErr struct {
	field string
	err   error
}

func (e *notFoundErr) Error() string { return e.field + ": " + e.err.Error() }
func (e *notFoundErr) Unwrap() error { return e.err }

// conflictErr is a 409 that names the field.
type conflictErr struct{ field, msg string }

func (e *conflictErr) Error() string { return e.field + ": " + e.msg }

// Handler serves the API and, under /console, the console.
func (f *Frontend) Handler() http.Handler {
	apiH := f.apiHandler()
	mux := http.NewServeMux()
	mux.Handle("/", apiH)
	c, err := console.New(console.Config{Backend: consoleBackend{f: f, api: apiH}, Log: f.log.With("service", "console"),
		SessionTTL: ConsoleSessionTTL})
	if err != nil {
		// The templates are embedded and tested: this does not happen in a build that passed.
		f.log.Error("console disabled", "error", err)
		return mux
	}
	f.console = c
	mux.Handle(console.Prefix+"/", c.Handler())
	mux.Handle(console.Prefix, c.Handler())
	return mux
}

// CloseStreams ends the console's live streams: the API server calls it when it shuts down.
func (f *Frontend) CloseStreams() {
	if f.console != nil {
		f.console.CloseStreams()
	}
}

// apiHandler serves the API.
func (f *Frontend) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", f.readyz)
	mux.Handle("POST /v1/clusters", f.authed(api.RoleAdmin, f.createCluster))
	mux.Handle("GET /v1/clusters", f.authed(api.RoleViewer, f.listClusters))
	mux.Handle("GET /v1/clusters/{name}", f.authed(api.RoleViewer, f.getCluster))
	mux.Handle("PATCH /v1/clusters/{name}", f.authed(api.RoleAdmin, f.updateCluster))
	mux.Handle("DELETE /v1/clusters/{name}", f.authed(api.RoleAdmin, f.deleteCluster))
	mux.Handle("POST /v1/clusters/{name}/undelete", f.authed(api.RoleAdmin, f.undeleteCluster))
	mux.Handle("GET /v1/clusters/{name}/history", f.authed(api.RoleViewer, f.clusterHistory))
	mux.Handle("POST /v1/clusters/{name}/rotate-certificates", f.authed(api.RoleAdmin, f.rotateCertificates))
	mux.Handle("POST /v1/clusters/{name}/api-keys", f.authed(api.RoleAdmin, f.createKafkaKey))
	mux.Handle("GET /v1/clusters/{name}/api-keys", f.authed(api.RoleViewer, f.listKafkaKeys))
	mux.Handle("DELETE /v1/clusters/{name}/api-keys/{id}", f.authed(api.RoleAdmin, f.revokeKafkaKey))
	mux.Handle("POST /v1/apply", f.authed(api.RoleAdmin, f.apply))
	mux.Handle("GET /v1/satellites", f.authed(api.RoleOperator, f.listSatellites))
	mux.Handle("GET /v1/controllers", f.authed(api.RoleOperator, f.listControllers))
	mux.Handle("GET /v1/leader", f.authed(api.RoleOperator, f.getLeader))
	mux.Handle("GET /v1/usage", f.authed(api.RoleViewer, f.usage))
	mux.Handle("GET /v1/profiles", f.authed(api.RoleOperator, f.listProfiles))
	mux.Handle("PUT /v1/profiles/{product}/{sku}", f.authed(api.RoleOperator, f.setProfile))
	mux.Handle("POST /v1/rollouts", f.authed(api.RoleOperator, f.createRollout))
	mux.Handle("GET /v1/rollouts", f.authed(api.RoleOperator, f.listRollouts))
	mux.Handle("GET /v1/rollouts/{id}", f.authed(api.RoleOperator, f.getRollout))
	mux.Handle("POST /v1/rollouts/{id}/actions", f.authed(api.RoleOperator, f.rolloutAction))
	mux.Handle("PATCH /v1/physical-clusters/{id}/labels", f.authed(api.RoleOperator, f.labelCluster))
	mux.Handle("PUT /v1/physical-clusters/{id}/pin", f.authed(api.RoleOperator, f.pinCluster))
	mux.Handle("PUT /v1/windows", f.authed(api.RoleAdmin, f.setWindow))
	mux.Handle("GET /v1/windows", f.authed(api.RoleViewer, f.listWindows))
	mux.Handle("DELETE /v1/windows/{scope}", f.authed(api.RoleAdmin, f.deleteWindow))
	mux.Handle("POST /v1/apikeys", f.authed(api.RoleAdmin, f.createAPIKey))
	mux.Handle("GET /v1/apikeys", f.authed(api.RoleAdmin, f.listAPIKeys))
	mux.Handle("DELETE /v1/apikeys/{id}", f.authed(api.RoleAdmin, f.revokeAPIKey))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, f.log, fmt.Errorf("%w: no route for %s %s", errNotFound, r.Method, r.URL.Path))
	})
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, p *principal) error

// authed authenticates the request and checks that the key's role allows at least min.
func (f *Frontend) authed(min string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := f.authenticate(r)
		if err == nil && !allows(p.Role, min) {
			err = errForbidden
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			writeError(w, f.log, err)
		}
	})
}

// allows reports whether role may do what needs min.
func allows(role, min string) bool {
	switch min {
	case api.RoleViewer:
		return role == api.RoleViewer || role == api.RoleAdmin || role == api.RoleOperator
	case api.RoleAdmin:
		return role == api.RoleAdmin || role == api.RoleOperator
	}
	return role == api.RoleOperator
}

func (f *Frontend) readyz(w http.ResponseWriter, r *http.Request) {
	ok, layers := f.ready()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	body := map[string]any{"ready": ok, "layers": layers}
	if f.leader != nil {
		if l, err := f.leader(r.Context()); err == nil {
			body["leader"] = l
		}
	}
	writeJSON(w, code, body)
}

func (f *Frontend) getLeader(w http.ResponseWriter, r *http.Request, _ *principal) error {
	l, err := f.leader(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// logicalState is the full state of a logical cluster, for its event and its history.
func logicalState(l db.LogicalCluster) *events.Logical {
	ev := &events.Logical{V: events.Version, ID: l.ID, TenantID: l.TenantID, Name: l.Name, Product: l.Product, SKU: l.Sku, CKU: l.Cku,
		Region: l.Region, Cloud: l.Cloud, Network: l.Network, KafkaID: l.KafkaClusterID.String, TLSSerial: l.TlsSerial,
		Mitigation: l.Mitigation, Generation: l.Generation, UpdatedAt: l.UpdatedAt}
	if l.DeletedAt.Valid {
		ev.DeletedAt = &l.DeletedAt.Int64
	}
	return ev
}

// changeOf is one user action on a cluster, for the event and the history.
type changeOf struct {
	by     *principal
	action string
	before *db.LogicalCluster // nil for a create
}

// record re-reads the logical cluster inside the transaction, appends its full state to
// the outbox, and writes the history entry (who, when, what, before and after).
func record(ctx context.Context, q frontenddb.Queries, id string, c changeOf) (db.LogicalCluster, error) {
	l, err := q.GetLogicalCluster(ctx, id)
	if err != nil {
		return l, err
	}
	after := logicalState(l)
	after.Action, after.Actor = c.action, c.by.KeyID
	if err := events.Append(ctx, q, after); err != nil {
		return l, err
	}
	var before []byte
	if c.before != nil {
		before, _ = json.Marshal(logicalState(*c.before))
	}
	afterJSON, _ := json.Marshal(logicalState(l))
	return l, q.InsertClusterHistory(ctx, db.InsertClusterHistoryParams{
		LogicalClusterID: l.ID, TenantID: l.TenantID, At: db.Now(), Actor: c.by.KeyID, Action: c.action,
		BeforeState: string(before), AfterState: string(afterJSON),
	})
}

var idPrefixes = map[kv.Product]string{kv.ProductKafka: "lkc", kv.ProductKsqlDB: "lksqlc", kv.ProductConnect: "lcc"}

// resolveKafka finds the live Kafka cluster a ksqldb or connect cluster is to work with:
// the tenant's, in the same region, cloud and network.
func resolveKafka(ctx context.Context, q frontenddb.Queries, tenantID, field string, spec api.ClusterSpec) (sql.NullString, error) {
	if spec.Kafka == "" {
		return sql.NullString{}, nil
	}
	k, err := liveCluster(ctx, q, tenantID, spec.Kafka)
	if errors.Is(err, errNotFound) {
		return sql.NullString{}, invalid(field, "no kafka cluster named %q", spec.Kafka)
	}
	if err != nil {
		return sql.NullString{}, err
	}
	switch {
	case k.Product != string(kv.ProductKafka):
		return sql.NullString{}, invalid(field, "%q is a %s cluster, not a kafka one", spec.Kafka, k.Product)
	case k.Region != spec.Region || k.Cloud != spec.Cloud || k.Network != spec.Network:
		return sql.NullString{}, invalid(field, "kafka cluster %q is in %s/%s/%s; a %s cluster must be in the same region, cloud and network",
			spec.Kafka, k.Cloud, k.Region, k.Network, spec.Product)
	}
	return sql.NullString{String: k.ID, Valid: true}, nil
}

// createLogical inserts a new logical cluster and its event.
func createLogical(ctx context.Context, q frontenddb.Queries, p *principal, prefix string, spec api.ClusterSpec) (db.LogicalCluster, error) {
	tenantID := p.TenantID
	kafkaID, err := resolveKafka(ctx, q, tenantID, prefix+"kafka", spec)
	if err != nil {
		return db.LogicalCluster{}, err
	}
	id := ids.New(idPrefixes[kv.Product(spec.Product)])
	err = q.InsertLogicalCluster(ctx, db.InsertLogicalClusterParams{
		ID: id, TenantID: tenantID, Name: spec.Name, Product: spec.Product, Sku: spec.SKU, Cku: int64(spec.CKU),
		Region: spec.Region, Cloud: spec.Cloud, Network: spec.Network, KafkaClusterID: kafkaID, Now: db.Now(),
	})
	if errors.Is(err, db.ErrUniqueViolation) {
		return db.LogicalCluster{}, &conflictErr{field: "name", msg: fmt.Sprintf("a cluster named %q already exists", spec.Name)}
	}
	if err != nil {
		return db.LogicalCluster{}, err
	}
	return record(ctx, q, id, changeOf{by: p, action: "create"})
}

func (f *Frontend) createCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	var spec api.ClusterSpec
	if err := decodeBody(r.Body, &spec); err != nil {
		return err
	}
	if err := normalize("", &spec); err != nil {
		return err
	}
	var view api.Cluster
	err := f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		l, err := createLogical(r.Context(), q, p, "", spec)
		if err != nil {
			return err
		}
		view, err = f.view(r.Context(), q, l)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, view)
	return nil
}

// pathName validates the {name} path segment.
func pathName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := kv.ValidateName("name", name); err != nil {
		return "", asFieldErr("", err)
	}
	return name, nil
}

func (f *Frontend) getCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	q := f.store.Read()
	l, err := q.GetLatestLogicalClusterByName(r.Context(), db.GetLatestLogicalClusterByNameParams{TenantID: p.TenantID, Name: name})
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("%w: cluster %q", errNotFound, name)
	}
	if err != nil {
		return err
	}
	view, err := f.view(r.Context(), q, l)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (f *Frontend) listClusters(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := f.store.Read()
	var (
		rows []db.LogicalCluster
		err  error
	)
	switch all := r.URL.Query().Get("all"); {
	case all == "true" && p.Role != api.RoleOperator:
		return errForbidden
	case all == "true":
		rows, err = q.ListAllLiveLogicalClusters(r.Context())
	case all != "" && all != "false":
		return invalid("all", "must be true or false")
	default:
		rows, err = q.ListLiveLogicalClusters(r.Context(), p.TenantID)
	}
	if err != nil {
		return err
	}
	out := make([]api.Cluster, 0, len(rows))
	for _, l := range rows {
		v, err := f.view(r.Context(), q, l)
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// liveCluster returns the tenant's live cluster of that name.
func liveCluster(ctx context.Context, q frontenddb.Queries, tenantID, name string) (db.LogicalCluster, error) {
	l, err := q.GetLiveLogicalClusterByName(ctx, db.GetLiveLogicalClusterByNameParams{TenantID: tenantID, Name: name})
	if errors.Is(err, db.ErrNotFound) {
		return l, fmt.Errorf("%w: cluster %q", errNotFound, name)
	}
	return l, err
}

// resizeLogical sets a new CKU count, bumping the generation, if it differs.
func resizeLogical(ctx context.Context, q frontenddb.Queries, p *principal, l db.LogicalCluster, cku int) (db.LogicalCluster, bool, error) {
	if int64(cku) == l.Cku {
		return l, false, nil
	}
	if profile.MultiTenant(l.Sku) {
		return l, false, invalid("cku", "a %s cluster is not sized by CKU", l.Sku)
	}
	l, err := mutate(ctx, q, p, l, "resize", func() (int64, error) {
		return q.ResizeLogicalCluster(ctx, db.ResizeLogicalClusterParams{ID: l.ID, Cku: int64(cku), Now: db.Now()})
	})
	return l, true, err
}

func (f *Frontend) updateCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	var upd api.ClusterUpdate
	if err := decodeBody(r.Body, &upd); err != nil {
		return err
	}
	if upd.CKU == nil && upd.Mitigation == nil {
		return invalid("cku", "cku or mitigation is required (the fields that can change)")
	}
	if upd.CKU != nil {
		if err := validateCKU("cku", *upd.CKU); err != nil {
			return err
		}
	}
	if upd.Mitigation != nil && *upd.Mitigation != kv.MitigationOn && *upd.Mitigation != kv.MitigationOff {
		return invalid("mitigation", "%q must be on or off", *upd.Mitigation)
	}
	return f.onCluster(w, r, http.StatusOK, func(ctx context.Context, q frontenddb.Queries, name string) (db.LogicalCluster, error) {
		l, err := liveCluster(ctx, q, p.TenantID, name)
		if err != nil {
			return l, err
		}
		if upd.Mitigation != nil {
			if l, err = setMitigation(ctx, q, p, l, *upd.Mitigation); err != nil {
				return l, err
			}
		}
		if upd.CKU != nil {
			l, _, err = resizeLogical(ctx, q, p, l, *upd.CKU)
		}
		return l, err
	})
}

// setMitigation turns the satellite's automated mitigation on or off for a dedicated
// cluster, bumping the generation, if it changes. A shared cluster's is the operators'.
func setMitigation(ctx context.Context, q frontenddb.Queries, p *principal, l db.LogicalCluster, mode string) (db.LogicalCluster, error) {
	current := l.Mitigation
	if current == "" {
		current = kv.MitigationOn
	}
	if mode == current {
		return l, nil
	}
	if profile.MultiTenant(l.Sku) {
		return l, invalid("mitigation", "a %s cluster shares its brokers: its mitigation is not a tenant's to turn off", l.Sku)
	}
	return mutate(ctx, q, p, l, "mitigation "+mode, func() (int64, error) {
		return q.SetLogicalClusterMitigation(ctx, db.SetLogicalClusterMitigationParams{ID: l.ID, Mitigation: mode, Now: db.Now()})
	})
}

func (f *Frontend) deleteCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	cascade := r.URL.Query().Get("cascade") == "true"
	return f.onCluster(w, r, http.StatusAccepted, func(ctx context.Context, q frontenddb.Queries, name string) (db.LogicalCluster, error) {
		l, err := liveCluster(ctx, q, p.TenantID, name)
		if err != nil {
			return l, err
		}
		// Upstream never deletes downstream on its own: a Kafka cluster that others work
		// with goes only when the user asks for the cascade.
		deps, err := q.ListLiveDependents(ctx, l.ID)
		if err != nil {
			return l, err
		}
		if len(deps) > 0 && !cascade {
			var names []string
			for _, d := range deps {
				names = append(names, d.Name)
			}
			return l, &conflictErr{field: "name", msg: fmt.Sprintf("kafka cluster %q has clusters that work with it (%s): delete them first, or delete with cascade", name, strings.Join(names, ", "))}
		}
		for _, d := range append(deps, l) {
			action := "delete"
			if d.ID != l.ID {
				action = "delete (cascade from " + l.Name + ")"
			}
			if _, err := mutate(ctx, q, p, d, action, func() (int64, error) {
				return q.DeleteLogicalCluster(ctx, db.DeleteLogicalClusterParams{ID: d.ID, Now: db.Now()})
			}); err != nil {
				return l, err
			}
		}
		return q.GetLogicalCluster(ctx, l.ID)
	})
}

func (f *Frontend) undeleteCluster(w http.ResponseWriter, r *http.Request, p *principal) error {
	return f.onCluster(w, r, http.StatusOK, func(ctx context.Context, q frontenddb.Queries, name string) (db.LogicalCluster, error) {
		if _, err := liveCluster(ctx, q, p.TenantID, name); err == nil {
			return db.LogicalCluster{}, &conflictErr{field: "name", msg: fmt.Sprintf("a live cluster named %q exists", name)}
		} else if !errors.Is(err, errNotFound) {
			return db.LogicalCluster{}, err
		}
		l, err := q.GetLatestLogicalClusterByName(ctx, db.GetLatestLogicalClusterByNameParams{TenantID: p.TenantID, Name: name})
		if errors.Is(err, db.ErrNotFound) {
			return l, fmt.Errorf("%w: cluster %q", errNotFound, name)
		}
		if err != nil {
			return l, err
		}
		if until := db.Time(l.DeletedAt.Int64).Add(f.retention); time.Now().After(until) {
			return l, &conflictErr{field: "name", msg: fmt.Sprintf("cluster %q was deleted at %s and could only be restored until %s",
				name, db.Time(l.DeletedAt.Int64).Format(time.RFC3339), until.Format(time.RFC3339))}
		}
		if l.KafkaClusterID.Valid {
			k, err := q.GetLogicalCluster(ctx, l.KafkaClusterID.String)
			if err != nil {
				return l, err
			}
			if k.DeletedAt.Valid {
				return l, &conflictErr{field: "kafka", msg: fmt.Sprintf("its kafka cluster %q is deleted: undelete it first", k.Name)}
			}
		}
		return mutate(ctx, q, p, l, "undelete", func() (int64, error) {
			return q.UndeleteLogicalCluster(ctx, db.UndeleteLogicalClusterParams{ID: l.ID, Now: db.Now()})
		})
	})
}

func (f *Frontend) rotateCertificates(w http.ResponseWriter, r *http.Request, p *principal) error {
	return f.onCluster(w, r, http.StatusOK, func(ctx context.Context, q frontenddb.Queries, name string) (db.LogicalCluster, error) {
		l, err := liveCluster(ctx, q, p.TenantID, name)
		if err != nil {
			return l, err
		}
		return mutate(ctx, q, p, l, "rotate-certificates", func() (int64, error) {
			return q.RotateLogicalClusterCertificates(ctx, db.RotateLogicalClusterCertificatesParams{ID: l.ID, Now: db.Now()})
		})
	})
}

// onCluster runs do on the cluster named in the path, in one transaction, and answers
// with code and the cluster's view as do left it.
func (f *Frontend) onCluster(w http.ResponseWriter, r *http.Request, code int,
	do func(ctx context.Context, q frontenddb.Queries, name string) (db.LogicalCluster, error)) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var view api.Cluster
	err = f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		l, err := do(r.Context(), q, name)
		if err != nil {
			return err
		}
		view, err = f.view(r.Context(), q, l)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, code, view)
	return nil
}

// mutate runs a change of l (a query that reports the rows it changed) and records it: the
// event and the history entry, with l as the state before.
func mutate(ctx context.Context, q frontenddb.Queries, p *principal, l db.LogicalCluster, action string, change func() (int64, error)) (db.LogicalCluster, error) {
	n, err := change()
	if err != nil {
		return l, err
	}
	if n != 1 {
		return l, fmt.Errorf("%w: cluster %q changed meanwhile", errConflict, l.Name)
	}
	before := l
	return record(ctx, q, l.ID, changeOf{by: p, action: action, before: &before})
}

// clusterHistory lists every change to the tenant's clusters of that name, oldest first.
func (f *Frontend) clusterHistory(w http.ResponseWriter, r *http.Request, p *principal) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	rows, err := f.store.Read().ListClusterHistoryByName(r.Context(), db.ListClusterHistoryByNameParams{TenantID: p.TenantID, Name: name})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%w: cluster %q", errNotFound, name)
	}
	out := make([]api.HistoryEntry, 0, len(rows))
	for _, h := range rows {
		e := api.HistoryEntry{ClusterID: h.LogicalClusterID, At: db.Time(h.At), Actor: h.Actor, Action: h.Action, After: json.RawMessage(h.AfterState)}
		if h.BeforeState != "" {
			e.Before = json.RawMessage(h.BeforeState)
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// view is the API's view of a logical cluster.
func (f *Frontend) view(ctx context.Context, q frontenddb.Queries, l db.LogicalCluster) (api.Cluster, error) {
	c, err := clusterView(ctx, q, l)
	if err != nil {
		return c, err
	}
	if l.KafkaClusterID.Valid {
		k, err := q.GetLogicalCluster(ctx, l.KafkaClusterID.String)
		if err != nil {
			return c, err
		}
		c.Kafka = k.Name
	}
	if l.DeletedAt.Valid && c.Status.Reason != status.ReasonPurged {
		until := db.Time(l.DeletedAt.Int64).Add(f.retention)
		c.RestorableUntil = &until
	}
	return c, nil
}

func (f *Frontend) apply(w http.ResponseWriter, r *http.Request, p *principal) error {
	data, err := readBody(r.Body, maxBodyBytes)
	if err != nil {
		return err
	}
	specs, err := parseApply(data)
	if err != nil {
		return err
	}
	results := make([]api.ApplyResult, len(specs))
	err = f.store.InTx(r.Context(), func(q frontenddb.Queries) error {
		for i, spec := range specs {
			res, err := f.applyOne(r.Context(), q, p, fmt.Sprintf("documents[%d].spec.", i), spec)
			if err != nil {
				return err
			}
			results[i] = res
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, results)
	return nil
}

// applyOne creates the cluster, or resizes it, or leaves it: apply is idempotent. Fields
// other than cku cannot change on a live cluster.
func (f *Frontend) applyOne(ctx context.Context, q frontenddb.Queries, p *principal, prefix string, spec api.ClusterSpec) (api.ApplyResult, error) {
	res := api.ApplyResult{Name: spec.Name}
	l, err := liveCluster(ctx, q, p.TenantID, spec.Name)
	switch {
	case errors.Is(err, errNotFound):
		if l, err = createLogical(ctx, q, p, prefix, spec); err != nil {
			return res, err
		}
		res.Action = api.ActionCreated
	case err != nil:
		return res, err
	default:
		kafka := ""
		if l.KafkaClusterID.Valid {
			k, err := q.GetLogicalCluster(ctx, l.KafkaClusterID.String)
			if err != nil {
				return res, err
			}
			kafka = k.Name
		}
		for _, fd := range []struct{ field, have, want string }{
			{"product", l.Product, spec.Product}, {"region", l.Region, spec.Region}, {"sku", l.Sku, spec.SKU},
			{"cloud", l.Cloud, spec.Cloud}, {"network", l.Network, spec.Network}, {"kafka", kafka, spec.Kafka},
		} {
			if fd.have != fd.want {
				return res, &conflictErr{field: prefix + fd.field, msg: fmt.Sprintf("cannot change from %q to %q on an existing cluster", fd.have, fd.want)}
			}
		}
		var changed bool
		if l, changed, err = resizeLogical(ctx, q, p, l, spec.CKU); err != nil {
			return res, err
		}
		res.Action = api.ActionUnchanged
		if changed {
			res.Action = api.ActionConfigured
		}
	}
	res.Cluster, err = f.view(ctx, q, l)
	return res, err
}

// satelliteTTL is how old a heartbeat may be for the satellite to count as connected.
const satelliteTTL = 30 * time.Second

func (f *Frontend) listControllers(w http.ResponseWriter, r *http.Request, _ *principal) error {
	out := make([]api.Controller, 0, len(f.controllers))
	for _, c := range f.controllers {
		lag, err := c.Lag(r.Context())
		if err != nil {
			return err
		}
		out = append(out, lag)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (f *Frontend) listSatellites(w http.ResponseWriter, r *http.Request, _ *principal) error {
	load, err := f.store.Read().CountPlacedBySatellite(r.Context())
	if err != nil {
		return err
	}
	counts := map[string]db.CountPlacedBySatelliteRow{}
	for _, l := range load {
		counts[l.Satellite.String] = l
	}
	out := []api.Satellite{}
	for _, s := range f.registry.List() {
		used := counts[s.Name]
		v := api.Satellite{
			Name: s.Name, Region: s.Region, Cloud: s.Cloud, Networks: s.Networks, Version: s.Version,
			Simulated: s.Simulated, HeartbeatAt: s.HeartbeatAt, Connected: time.Since(s.HeartbeatAt) < satelliteTTL,
			Clusters: int(used.Clusters), Brokers: int(used.Replicas),
			CapacityClusters: int(s.Capacity.Clusters), CapacityBrokers: int(s.Capacity.Brokers),
		}
		if s.Capacity.Clusters > 0 {
			v.Utilization = max(v.Utilization, float64(used.Clusters)/float64(s.Capacity.Clusters))
		}
		if s.Capacity.Brokers > 0 {
			v.Utilization = max(v.Utilization, float64(used.Replicas)/float64(s.Capacity.Brokers))
		}
		v.NearCapacity = v.Utilization > api.NearCapacityThreshold
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError maps an error to its status code and body. Internal errors are logged and
// answered without detail.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	var (
		fe  *fieldErr
		ce  *conflictErr
		mbe *maxBytesErr
		nfe *notFoundErr
	)
	e := api.Error{Message: err.Error()}
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &fe):
		code, e.Code, e.Field = http.StatusBadRequest, api.CodeInvalid, fe.field
	case errors.As(err, &mbe):
		code, e.Code, e.Field = http.StatusRequestEntityTooLarge, api.CodeTooLarge, "body"
	case errors.As(err, &ce):
		code, e.Code, e.Field = http.StatusConflict, api.CodeConflict, ce.field
	case errors.Is(err, errConflict):
		code, e.Code = http.StatusConflict, api.CodeConflict
	case errors.As(err, &nfe) && errors.Is(err, errNotFound):
		code, e.Code, e.Field = http.StatusNotFound, api.CodeNotFound, nfe.field
	case errors.Is(err, errNotFound):
		code, e.Code = http.StatusNotFound, api.CodeNotFound
	case errors.Is(err, errUnauthenticated):
		code, e.Code = http.StatusUnauthorized, api.CodeUnauthenticated
	case errors.Is(err, errForbidden):
		code, e.Code = http.StatusForbidden, api.CodeForbidden
	default:
		log.Error("request failed", "error", err)
		e.Code, e.Message = api.CodeInternal, "internal error"
	}
	writeJSON(w, code, api.ErrorBody{Error: e})
}
