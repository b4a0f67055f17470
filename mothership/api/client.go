package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// StatusError is a non-2xx answer from the API.
type StatusError struct {
	StatusCode int
	Err        Error
}

func (e *StatusError) Error() string {
	if e.Err.Field != "" && !strings.HasPrefix(e.Err.Message, e.Err.Field+":") {
		return fmt.Sprintf("%s: %s (HTTP %d)", e.Err.Field, e.Err.Message, e.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Err.Message, e.StatusCode)
}

// IsNotFound reports whether err is a 404 from the API.
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}

// Client calls the mothership API.
type Client struct {
	base   *url.URL
	apiKey string
	http   *http.Client
}

// NewClient returns a client for the API at server (e.g. http://127.0.0.1:8080).
func NewClient(server, apiKey string, hc *http.Client) (*Client, error) {
	if server == "" {
		return nil, errors.New("no server: set --server or ORBIT_SERVER")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q must be an http:// or https:// URL", server)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, apiKey: apiKey, http: hc}, nil
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	path, query, _ := strings.Cut(path, "?")
	u := c.base.JoinPath(path)
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Message == "" {
			eb.Error = Error{Code: CodeInternal, Message: strings.TrimSpace(string(data))}
			if eb.Error.Message == "" {
				eb.Error.Message = resp.Status
			}
		}
		return &StatusError{StatusCode: resp.StatusCode, Err: eb.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding the server's answer: %w", err)
	}
	return nil
}

func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// CreateCluster creates a cluster.
func (c *Client) CreateCluster(ctx context.Context, spec ClusterSpec) (*Cluster, error) {
	body, err := jsonBody(spec)
	if err != nil {
		return nil, err
	}
	var out Cluster
	return &out, c.do(ctx, http.MethodPost, "/v1/clusters", "application/json", body, &out)
}

// GetCluster returns a cluster by name (the live one, or else the last deleted).
func (c *Client) GetCluster(ctx context.Context, name string) (*Cluster, error) {
	var out Cluster
	return &out, c.do(ctx, http.MethodGet, "/v1/clusters/"+url.PathEscape(name), "", nil, &out)
}

// ListClusters returns the tenant's live clusters.
func (c *Client) ListClusters(ctx context.Context) ([]Cluster, error) {
	var out []Cluster
	return out, c.do(ctx, http.MethodGet, "/v1/clusters", "", nil, &out)
}

// UpdateCluster changes a cluster (resize).
func (c *Client) UpdateCluster(ctx context.Context, name string, upd ClusterUpdate) (*Cluster, error) {
	body, err := jsonBody(upd)
	if err != nil {
		return nil, err
	}
	var out Cluster
	return &out, c.do(ctx, http.MethodPatch, "/v1/clusters/"+url.PathEscape(name), "application/json", body, &out)
}

// DeleteCluster deletes a cluster.
func (c *Client) DeleteCluster(ctx context.Context, name string) (*Cluster, error) {
	var out Cluster
	return &out, c.do(ctx, http.MethodDelete, "/v1/clusters/"+url.PathEscape(name), "", nil, &out)
}

// DeleteClusterCascade deletes a Kafka cluster together with the ksqldb and connect
// clusters that work with it.
func (c *Client) DeleteClusterCascade(ctx context.Context, name string) (*Cluster, error) {
	var out Cluster
	return &out, c.do(ctx, http.MethodDelete, "/v1/clusters/"+url.PathEscape(name)+"?cascade=true", "", nil, &out)
}

// UndeleteCluster brings back the last deleted cluster of that name, with its data, if it
// is still restorable.
func (c *Client) UndeleteCluster(ctx context.Context, name string) (*Cluster, error) {
	var out Cluster
	return &out, c.do(ctx, http.MethodPost, "/v1/clusters/"+url.PathEscape(name)+"/undelete", "", nil, &out)
}

// RotateCertificates has a cluster's TLS certificates reissued (no restarts).
func (c *Client) RotateCertificates(ctx context.Context, name string) (*Cluster, error) {
	var out Cluster
	return &out, c.do(ctx, http.MethodPost, "/v1/clusters/"+url.PathEscape(name)+"/rotate-certificates", "", nil, &out)
}

// Apply sends a multi-document YAML (or JSON) file of cluster specs; the server applies all
// of them in one transaction, or none.
func (c *Client) Apply(ctx context.Context, doc []byte) ([]ApplyResult, error) {
	var out []ApplyResult
	return out, c.do(ctx, http.MethodPost, "/v1/apply", "application/yaml", bytes.NewReader(doc), &out)
}

// ListSatellites returns the registered satellites.
func (c *Client) ListSatellites(ctx context.Context) ([]Satellite, error) {
	var out []Satellite
	return out, c.do(ctx, http.MethodGet, "/v1/satellites", "", nil, &out)
}

// ListControllers reports how far behind each controller is (operators only).
func (c *Client) ListControllers(ctx context.Context) ([]Controller, error) {
	var out []Controller
	return out, c.do(ctx, http.MethodGet, "/v1/controllers", "", nil, &out)
}

// CreateAPIKey creates a key; the answer carries the key itself, once.
// Leader reports who leads the mothership's replicas (operators).
func (c *Client) Leader(ctx context.Context) (*Leader, error) {
	var out Leader
	return &out, c.do(ctx, http.MethodGet, "/v1/leader", "", nil, &out)
}

func (c *Client) CreateAPIKey(ctx context.Context, req APIKeyRequest) (*APIKey, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out APIKey
	return &out, c.do(ctx, http.MethodPost, "/v1/apikeys", "application/json", body, &out)
}

// ListAPIKeys lists the tenant's keys (never the keys themselves).
func (c *Client) ListAPIKeys(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	return out, c.do(ctx, http.MethodGet, "/v1/apikeys", "", nil, &out)
}

// RevokeAPIKey revokes a key by id.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	var out APIKey
	return &out, c.do(ctx, http.MethodDelete, "/v1/apikeys/"+url.PathEscape(id), "", nil, &out)
}

// ListAllClusters lists every tenant's live clusters (operators only).
// CreateKafkaAPIKey creates a Kafka API key on a Kafka cluster; the answer carries its
// secret, which no later answer does.
func (c *Client) CreateKafkaAPIKey(ctx context.Context, cluster string, req KafkaAPIKeyRequest) (*KafkaAPIKey, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out KafkaAPIKey
	return &out, c.do(ctx, http.MethodPost, "/v1/clusters/"+url.PathEscape(cluster)+"/api-keys", "application/json", body, &out)
}

// ListKafkaAPIKeys lists a Kafka cluster's API keys, revoked ones included, without secrets.
func (c *Client) ListKafkaAPIKeys(ctx context.Context, cluster string) ([]KafkaAPIKey, error) {
	var out []KafkaAPIKey
	return out, c.do(ctx, http.MethodGet, "/v1/clusters/"+url.PathEscape(cluster)+"/api-keys", "", nil, &out)
}

// RevokeKafkaAPIKey revokes a Kafka API key; its satellite deletes the SCRAM user.
func (c *Client) RevokeKafkaAPIKey(ctx context.Context, cluster, id string) (*KafkaAPIKey, error) {
	var out KafkaAPIKey
	return &out, c.do(ctx, http.MethodDelete, "/v1/clusters/"+url.PathEscape(cluster)+"/api-keys/"+url.PathEscape(id), "", nil, &out)
}

func (c *Client) ListAllClusters(ctx context.Context) ([]Cluster, error) {
	var out []Cluster
	return out, c.do(ctx, http.MethodGet, "/v1/clusters?all=true", "", nil, &out)
}

// ClusterHistory lists the changes to the tenant's clusters of that name.
func (c *Client) ClusterHistory(ctx context.Context, name string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	return out, c.do(ctx, http.MethodGet, "/v1/clusters/"+url.PathEscape(name)+"/history", "", nil, &out)
}

// ListProfiles lists the current profile of every product and SKU (operators).
func (c *Client) ListProfiles(ctx context.Context) ([]Profile, error) {
	var out []Profile
	return out, c.do(ctx, http.MethodGet, "/v1/profiles", "", nil, &out)
}

// SetProfile makes spec the new current profile of a product and SKU (operators); every
// cluster of that product and SKU converges to it.
func (c *Client) SetProfile(ctx context.Context, product, sku string, spec ProfileSpec) (*Profile, error) {
	body, err := jsonBody(spec)
	if err != nil {
		return nil, err
	}
	var out Profile
	return &out, c.do(ctx, http.MethodPut, "/v1/profiles/"+url.PathEscape(product)+"/"+url.PathEscape(sku), "application/json", body, &out)
}

// Usage reports the tenant's usage per hour and cluster since from.
func (c *Client) Usage(ctx context.Context, from time.Time) ([]Usage, error) {
	var out []Usage
	return out, c.do(ctx, http.MethodGet, "/v1/usage?from="+url.QueryEscape(from.UTC().Format(time.RFC3339)), "", nil, &out)
}

// SetProfileRollout sets a profile like SetProfile; rollout is "" (the default strategy) or
// "all-at-once"; soak, if not 0, is the rollout's soak time.
func (c *Client) SetProfileRollout(ctx context.Context, product, sku string, spec ProfileSpec, rollout string, soak time.Duration) (*Profile, error) {
	body, err := jsonBody(spec)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if rollout != "" {
		q.Set("rollout", rollout)
	}
	if soak != 0 {
		q.Set("soak", soak.String())
	}
	path := "/v1/profiles/" + url.PathEscape(product) + "/" + url.PathEscape(sku)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out Profile
	return &out, c.do(ctx, http.MethodPut, path, "application/json", body, &out)
}

// CreateRollout starts a rollout (operators).
func (c *Client) CreateRollout(ctx context.Context, req RolloutRequest) (*Rollout, error) {
	body, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out Rollout
	return &out, c.do(ctx, http.MethodPost, "/v1/rollouts", "application/json", body, &out)
}

// ListRollouts lists every rollout, oldest first.
func (c *Client) ListRollouts(ctx context.Context) ([]Rollout, error) {
	var out []Rollout
	return out, c.do(ctx, http.MethodGet, "/v1/rollouts", "", nil, &out)
}

// GetRollout returns a rollout with its clusters and history.
func (c *Client) GetRollout(ctx context.Context, id string) (*Rollout, error) {
	var out Rollout
	return &out, c.do(ctx, http.MethodGet, "/v1/rollouts/"+url.PathEscape(id), "", nil, &out)
}

// RolloutAct acts on a rollout: pause, resume, abort, rollback (returns the new roll back),
// finalize, override-windows.
func (c *Client) RolloutAct(ctx context.Context, id, action, reason string) (*Rollout, error) {
	body, err := jsonBody(RolloutAction{Action: action, Reason: reason})
	if err != nil {
		return nil, err
	}
	var out Rollout
	return &out, c.do(ctx, http.MethodPost, "/v1/rollouts/"+url.PathEscape(id)+"/actions", "application/json", body, &out)
}

// LabelCluster sets (or, with an empty value, removes) labels of a physical cluster.
func (c *Client) LabelCluster(ctx context.Context, physicalID string, labels map[string]string) error {
	body, err := jsonBody(ClusterLabels{Labels: labels})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPatch, "/v1/physical-clusters/"+url.PathEscape(physicalID)+"/labels", "application/json", body, nil)
}

// PinCluster pins or unpins a physical cluster.
func (c *Client) PinCluster(ctx context.Context, physicalID string, pinned bool) error {
	body, err := jsonBody(ClusterPin{Pinned: pinned})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, "/v1/physical-clusters/"+url.PathEscape(physicalID)+"/pin", "application/json", body, nil)
}

// SetWindow sets the maintenance window of a scope.
func (c *Client) SetWindow(ctx context.Context, w MaintenanceWindow) (*MaintenanceWindow, error) {
	body, err := jsonBody(w)
	if err != nil {
		return nil, err
	}
	var out MaintenanceWindow
	return &out, c.do(ctx, http.MethodPut, "/v1/windows", "application/json", body, &out)
}

// ListWindows lists the maintenance windows the key may see.
func (c *Client) ListWindows(ctx context.Context) ([]MaintenanceWindow, error) {
	var out []MaintenanceWindow
	return out, c.do(ctx, http.MethodGet, "/v1/windows", "", nil, &out)
}

// DeleteWindow removes the maintenance window of a scope.
func (c *Client) DeleteWindow(ctx context.Context, scope string) error {
	return c.do(ctx, http.MethodDelete, "/v1/windows/"+url.PathEscape(scope), "", nil, nil)
}
