package simkafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/kv/kafkaconf"
)

// Kafka's metadata version is the harness's, not kfake's. kfake answers UpdateFeatures and
// lists finalized features in ApiVersions, but from its own table of the newest Kafka it
// knows, whatever version a cluster runs: a cluster would report a level its Kafka does not
// have, already above what an upgrade's finalize asks for, and a satellite that never
// finalizes would look as if it had. So the harness keeps each cluster's metadata.version:
// the cluster runs the Kafka version of its broker StatefulSet's image (Config.KafkaVersion,
// SetKafkaVersion; every broker at once, where Kafka's brokers change one by one), is
// formatted at the newest level of the version it first ran (as kafka-storage.sh format
// does), stays there when the version changes, and moves only when UpdateFeatures raises
// it (MetadataVersion reports the level and the updates that changed it). ApiVersions
// lists metadata.version as supported from kafkaconf.MinMetadataVersion to the running
// version's newest level and finalized at the cluster's level; UpdateFeatures for
// metadata.version is answered by the harness (above the running version's newest level:
// FEATURE_UPDATE_FAILED; lower without a downgrade type: INVALID_UPDATE_VERSION), any other
// feature in the same request is refused (FEATURE_UPDATE_FAILED), and a request without
// metadata.version is kfake's. Requests of a cluster whose version is unknown (none set,
// or one kafkaconf has no level for) are kfake's.

// metadataModel is a cluster's metadata.version; guarded by Cluster.mu.
type metadataModel struct {
	version   string // the Kafka version the brokers run ("3.9.0"; "": unknown)
	formatted bool
	level     int16 // finalized; 0 until the cluster is formatted with a known version
	updates   int   // UpdateFeatures requests that changed the level
}

// SetKafkaVersion sets the Kafka version the cluster's brokers run (as when the broker
// StatefulSet's image changed and its pods rolled). A cluster formatted before any version
// was known starts at the newest level of the first one.
func (c *Cluster) SetKafkaVersion(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.version = v
	c.initLevelLocked()
}

func (c *Cluster) initLevelLocked() {
	if newest, err := kafkaconf.MetadataVersion(c.meta.version); err == nil && c.meta.formatted && c.meta.level == 0 {
		c.meta.level = newest
	}
}

// MetadataVersion is the cluster's finalized metadata.version level (0 before it is
// formatted, or when its version is unknown) and how many UpdateFeatures requests changed it.
func (c *Cluster) MetadataVersion() (level int16, updates int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta.level, c.meta.updates
}

// formatMetadata sets the level a new cluster starts at: the newest of its version.
func (c *Cluster) formatMetadata() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.formatted = true
	c.initLevelLocked()
}

// metadataLevels returns the newest level the running version supports and the finalized
// level, or false when the harness does not model the cluster's metadata version.
func (c *Cluster) metadataLevels() (newest, level int16, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	newest, err := kafkaconf.MetadataVersion(c.meta.version)
	if err != nil || c.meta.level == 0 {
		return 0, 0, false
	}
	return newest, c.meta.level, true
}

func (c *Cluster) interceptFeatures() {
	c.Intercept(kmsg.UpdateFeatures.Int16(), c.updateFeatures)
}

// updateFeatures answers an UpdateFeatures request that names metadata.version.
func (c *Cluster) updateFeatures(_ int32, req kmsg.Request) (kmsg.Response, error, bool) {
	r := req.(*kmsg.UpdateFeaturesRequest)
	named := false
	for _, u := range r.FeatureUpdates {
		named = named || u.Feature == kafkaconf.MetadataVersionFeature
	}
	if !named {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	newest, err := kafkaconf.MetadataVersion(c.meta.version)
	if err != nil || c.meta.level == 0 {
		return nil, nil, false
	}
	resp := r.ResponseKind().(*kmsg.UpdateFeaturesResponse)
	var firstErr *kerr.Error
	var firstMsg *string
	set := int16(-1)
	for _, u := range r.FeatureUpdates {
		res := kmsg.NewUpdateFeaturesResponseResult()
		res.Feature = u.Feature
		downgrade := u.AllowDowngrade
		if r.Version >= 1 {
			downgrade = u.UpgradeType >= 2
		}
		var fail *kerr.Error
		var msg string
		switch {
		case u.Feature != kafkaconf.MetadataVersionFeature:
			fail, msg = kerr.FeatureUpdateFailed, "the harness answers metadata.version only"
		case u.MaxVersionLevel > newest || u.MaxVersionLevel < kafkaconf.MinMetadataVersion:
			fail, msg = kerr.FeatureUpdateFailed, "level outside what the brokers support"
		case u.MaxVersionLevel < c.meta.level && !downgrade:
			fail, msg = kerr.InvalidUpdateVersion, "a lower level needs a downgrade"
		default:
			set = u.MaxVersionLevel
		}
		if fail != nil {
			res.ErrorCode, res.ErrorMessage = fail.Code, kmsg.StringPtr(msg)
			if firstErr == nil {
				firstErr, firstMsg = fail, res.ErrorMessage
			}
		}
		resp.Results = append(resp.Results, res)
	}
	if firstErr != nil {
		set = -1 // Kafka applies a request's updates all or none
		for i := range resp.Results {
			if resp.Results[i].ErrorCode == 0 {
				resp.Results[i].ErrorCode = kerr.FeatureUpdateFailed.Code
			}
		}
	}
	if r.Version >= 2 {
		resp.Results = nil
		if firstErr != nil {
			resp.ErrorCode, resp.ErrorMessage = firstErr.Code, firstMsg
		}
	}
	if set > 0 && !(r.Version >= 1 && r.ValidateOnly) && set != c.meta.level {
		c.meta.level = set
		c.meta.updates++
		c.log.Info("simkafka: metadata.version finalized", "level", set)
	}
	return resp, nil, true
}

// rewriteFeatures puts the harness's metadata.version into an ApiVersions response.
func (c *Cluster) rewriteFeatures(r *kmsg.ApiVersionsResponse) {
	newest, level, ok := c.metadataLevels()
	if !ok {
		return
	}
	supported := r.SupportedFeatures[:0]
	for _, f := range r.SupportedFeatures {
		if f.Name != kafkaconf.MetadataVersionFeature {
			supported = append(supported, f)
		}
	}
	sf := kmsg.NewApiVersionsResponseSupportedFeature()
	sf.Name, sf.MinVersion, sf.MaxVersion = kafkaconf.MetadataVersionFeature, kafkaconf.MinMetadataVersion, newest
	r.SupportedFeatures = append(supported, sf)
	finalized := r.FinalizedFeatures[:0]
	for _, f := range r.FinalizedFeatures {
		if f.Name != kafkaconf.MetadataVersionFeature {
			finalized = append(finalized, f)
		}
	}
	ff := kmsg.NewApiVersionsResponseFinalizedFeature()
	ff.Name, ff.MinVersionLevel, ff.MaxVersionLevel = kafkaconf.MetadataVersionFeature, level, level
	r.FinalizedFeatures = append(finalized, ff)
	r.FinalizedFeaturesEpoch = max(r.FinalizedFeaturesEpoch, 1)
}
