// Package onboarding owns the satellites table: adding a satellite (its name, region,
// cloud, networks, nkey and public curve key), revoking it, and granting what the table says
// on the hub — one durable desired and one durable credentials consumer per satellite and,
// on an embedded hub, its user and permissions. It writes through db/onboardingdb; any replica (and `mothership satellite`)
// may write.
package onboarding

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/onboardingdb"
	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/leafnode"
)

// SatelliteSpec is a satellite being onboarded.
type SatelliteSpec struct {
	Name     string
	Region   string
	Cloud    string
	Networks []string
	// NKey is the satellite's public user nkey: its identity on the hub.
	NKey string
	// CurveKey is the satellite's public curve key (nkeys, X…), minted beside its nkey:
	// Kafka credentials are sealed to it. A new one makes the credentials sealed to the old
	// one unusable; the sync service seals every live key again to the new one.
	CurveKey string
}

// Validate checks the spec.
func (s *SatelliteSpec) Validate() error {
	if err := kv.ValidateName("name", s.Name); err != nil {
		return err
	}
	if s.Name == kv.HubDomain {
		return fmt.Errorf("name: %q is reserved for the hub", kv.HubDomain)
	}
	if err := kv.ValidateName("region", s.Region); err != nil {
		return err
	}
	if err := kv.ValidateName("cloud", s.Cloud); err != nil {
		return err
	}
	if len(s.Networks) == 0 {
		return fmt.Errorf("networks: at least one of %s", strings.Join(kv.Networks, ", "))
	}
	for _, n := range s.Networks {
		if !slices.Contains(kv.Networks, n) {
			return fmt.Errorf("networks: unknown network type %q (want %s)", n, strings.Join(kv.Networks, ", "))
		}
	}
	if !nkeys.IsValidPublicUserKey(s.NKey) {
		return fmt.Errorf("nkey: must be a public user nkey (starts with U)")
	}
	if s.CurveKey != "" && !nkeys.IsValidPublicCurveKey(s.CurveKey) {
		return fmt.Errorf("curve key: must be a public curve key (starts with X)")
	}
	return nil
}

// Add records a satellite in the store. A running mothership grants it access within
// AccessSyncInterval; onboarding an existing name replaces its nkey (a rotation).
func Add(ctx context.Context, store *db.Store, s SatelliteSpec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	err := onboardingdb.New(store).InTx(ctx, func(q onboardingdb.Queries) error {
		return q.UpsertSatellite(ctx, db.UpsertSatelliteParams{
			Name: s.Name, Region: s.Region, Cloud: s.Cloud, Networks: strings.Join(s.Networks, ","),
			Nkey: s.NKey, CurveKey: s.CurveKey, CreatedAt: db.Now(),
		})
	})
	if err != nil {
		return fmt.Errorf("onboarding %s: %w", s.Name, err)
	}
	return nil
}

// AccessSyncInterval is how often a running mothership re-reads the satellites table.
const AccessSyncInterval = 5 * time.Second

// Access grants on the hub what the satellites table says: one durable desired consumer per
// satellite (when it has a JetStream connection) and the hub's satellite users (when it
// runs an embedded hub node).
type Access struct {
	store onboardingdb.Store
	js    jetstream.JetStream
	hub   *leafnode.Hub
	log   *slog.Logger
}

// NewAccess returns the access of store's satellites on js and hub (either may be nil).
func NewAccess(store *db.Store, js jetstream.JetStream, hub *leafnode.Hub, log *slog.Logger) *Access {
	return &Access{store: onboardingdb.New(store), js: js, hub: hub, log: log}
}

// Users reads the satellites allowed on the hub (not revoked).
func (a *Access) Users(ctx context.Context) ([]leafnode.SatelliteUser, error) {
	rows, err := a.store.Read().ListSatellites(ctx)
	if err != nil {
		return nil, fmt.Errorf("satellites: %w", err)
	}
	users := make([]leafnode.SatelliteUser, 0, len(rows))
	for _, r := range rows {
		users = append(users, leafnode.SatelliteUser{Name: r.Name, NKey: strings.TrimSpace(r.Nkey)})
	}
	return users, nil
}

// Sync makes the hub match the satellites table.
func (a *Access) Sync(ctx context.Context) error {
	users, err := a.Users(ctx)
	if err != nil {
		return err
	}
	return a.grant(ctx, users)
}

func (a *Access) grant(ctx context.Context, users []leafnode.SatelliteUser) error {
	if a.js != nil {
		for _, u := range users {
			for _, bucket := range kv.MirroredBuckets {
				if _, err := a.js.CreateOrUpdatePushConsumer(ctx, kv.StreamName(bucket), kv.MirrorConsumer(bucket, u.Name)); err != nil {
					return fmt.Errorf("%s consumer of %s: %w", bucket, u.Name, err)
				}
			}
		}
	}
	if a.hub != nil {
		return a.hub.SetSatellites(users)
	}
	return nil
}

// Run keeps the hub in step with satellites added or revoked by other processes, re-reading
// the table every interval and granting only when it changed.
func (a *Access) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last []leafnode.SatelliteUser
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		users, err := a.Users(ctx)
		if err != nil {
			a.log.Warn("reading satellites", "error", err)
			continue
		}
		if last != nil && slices.Equal(users, last) {
			continue
		}
		if err := a.grant(ctx, users); err != nil {
			a.log.Warn("granting satellite access", "error", err)
			continue
		}
		last = users
	}
}

// Revoke withdraws a satellite's access: a running mothership drops its user from the hub
// within AccessSyncInterval, which cuts its connection. Its clusters keep running
// on its side; it just no longer hears from, or reports to, the hub.
func Revoke(ctx context.Context, store *db.Store, name string) error {
	return onboardingdb.New(store).InTx(ctx, func(q onboardingdb.Queries) error {
		n, err := q.RevokeSatellite(ctx, db.RevokeSatelliteParams{Name: name, Now: db.Now()})
		if err == nil && n == 0 {
			err = fmt.Errorf("no satellite %q with access", name)
		}
		return err
	})
}
