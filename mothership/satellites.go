package mothership

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/orbitcp/orbit/db"
	"github.com/orbitcp/orbit/db/sqlitegen"
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
	return nil
}

// OnboardSatellite records a satellite and grants it its access: its own durable consumer
// of desired keys, and (with an embedded hub) its user with its permissions. Onboarding an
// existing name replaces its nkey (a rotation).
func (m *Mothership) OnboardSatellite(ctx context.Context, s SatelliteSpec) error {
	if err := AddSatellite(ctx, m.cfg.Store, s); err != nil {
		return err
	}
	return m.syncSatelliteAccess(ctx)
}

// AddSatellite records a satellite in the store only. A running mothership grants it access
// within accessSyncInterval; `mothership satellite add` uses this from another process.
func AddSatellite(ctx context.Context, store *db.Store, s SatelliteSpec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	err := store.Q().UpsertSatellite(ctx, sqlitegen.UpsertSatelliteParams{
		Name: s.Name, Region: s.Region, Cloud: s.Cloud, Networks: strings.Join(s.Networks, ","),
		Nkey: s.NKey, CreatedAt: db.Now(),
	})
	if err != nil {
		return fmt.Errorf("onboarding %s: %w", s.Name, err)
	}
	return nil
}

// accessSyncInterval is how often a running mothership re-reads the satellites table.
const accessSyncInterval = 5 * time.Second

// runSatelliteAccess keeps the hub in step with satellites added by other processes.
func (m *Mothership) runSatelliteAccess(ctx context.Context) error {
	t := time.NewTicker(accessSyncInterval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rows, err := m.cfg.Store.Q().ListSatellites(ctx)
		if err != nil {
			m.log.Warn("reading satellites", "error", err)
			continue
		}
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "%s=%s;", r.Name, r.Nkey)
		}
		if b.String() == last {
			continue
		}
		if err := m.syncSatelliteAccess(ctx); err != nil {
			m.log.Warn("granting satellite access", "error", err)
			continue
		}
		last = b.String()
	}
}

// syncSatelliteAccess makes the hub match the satellites table: one durable desired
// consumer per satellite, and the hub's users.
func (m *Mothership) syncSatelliteAccess(ctx context.Context) error {
	rows, err := m.cfg.Store.Q().ListSatellites(ctx)
	if err != nil {
		return err
	}
	users := make([]leafnode.SatelliteUser, 0, len(rows))
	for _, r := range rows {
		if _, err := m.js.CreateOrUpdatePushConsumer(ctx, kv.StreamName(kv.BucketDesired), kv.DesiredConsumer(r.Name)); err != nil {
			return fmt.Errorf("desired consumer of %s: %w", r.Name, err)
		}
		users = append(users, leafnode.SatelliteUser{Name: r.Name, NKey: r.Nkey})
	}
	if m.cfg.Hub != nil {
		if err := m.cfg.Hub.SetSatellites(users); err != nil {
			return err
		}
	}
	return nil
}

// RevokeSatellite withdraws a satellite's access: a running mothership drops its user from
// the hub within accessSyncInterval, which cuts its connection. Its clusters keep running
// on its side; it just no longer hears from, or reports to, the hub.
func RevokeSatellite(ctx context.Context, store *db.Store, name string) error {
	n, err := store.Q().RevokeSatellite(ctx, sqlitegen.RevokeSatelliteParams{Name: name, Now: db.Now()})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("no satellite %q with access", name)
	}
	return nil
}
