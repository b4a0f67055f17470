package simkafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/orbitcp/orbit/kv/kafkaconf"
)

// metadataLevels is what a broker's ApiVersions says of metadata.version: finalized level
// and the supported range.
func metadataLevelsOf(t *testing.T, cl *kgo.Client) (finalized, minSupported, maxSupported int16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1"
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("ApiVersions: %v %v", err, resp)
	}
	for _, f := range resp.FinalizedFeatures {
		if f.Name == kafkaconf.MetadataVersionFeature {
			finalized = f.MaxVersionLevel
		}
	}
	for _, f := range resp.SupportedFeatures {
		if f.Name == kafkaconf.MetadataVersionFeature {
			minSupported, maxSupported = f.MinVersion, f.MaxVersion
		}
	}
	return finalized, minSupported, maxSupported
}

func upgradeMetadata(t *testing.T, adm *kadm.Client, level int16, upgradeType int8) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := adm.UpdateFeatures(ctx, false, kadm.FeatureUpdate{Feature: kafkaconf.MetadataVersionFeature, MaxVersionLevel: level, UpgradeType: upgradeType})
	if err != nil {
		return err
	}
	return res.Error()
}

// TestMetadataVersionIsTheHarnesss: a cluster stays at the metadata version it was formatted
// at when its brokers move to a newer Kafka (the negative control: nothing finalizes it but
// UpdateFeatures), and only UpdateFeatures raises it, within what the running version
// supports, never down without a downgrade.
func TestMetadataVersionIsTheHarnesss(t *testing.T) {
	f, c, _, ca := startCluster(t, 3)
	cl := client(t, f, ca, testPass)
	adm := kadm.NewClient(cl)

	// Without a version the harness does not model it: kfake's answer, at the newest level
	// kfake knows, which would already pass for finalized.
	if fin, _, _ := metadataLevelsOf(t, cl); fin < 21 {
		t.Fatalf("kfake alone reports metadata.version %d: below 3.9-IV0, it no longer passes for finalized", fin)
	}

	c.SetKafkaVersion("3.8.0") // formatted before the version was known: starts at 3.8's newest
	if fin, lo, hi := metadataLevelsOf(t, cl); fin != 20 || lo != kafkaconf.MinMetadataVersion || hi != 20 {
		t.Fatalf("on 3.8: finalized %d, supported %d-%d; want 20, 7-20", fin, lo, hi)
	}
	if err := upgradeMetadata(t, adm, 21, 1); !errors.Is(err, kerr.FeatureUpdateFailed) {
		t.Fatalf("3.9-IV0 on 3.8 brokers: %v, want FEATURE_UPDATE_FAILED", err)
	}

	c.SetKafkaVersion("3.9.0") // the brokers were upgraded
	if fin, _, hi := metadataLevelsOf(t, cl); fin != 20 || hi != 21 {
		t.Fatalf("upgraded to 3.9, not finalized: finalized %d, supported up to %d; want 20, 21", fin, hi)
	}
	if level, updates := c.MetadataVersion(); level != 20 || updates != 0 {
		t.Fatalf("model before any finalize: %d, %d updates", level, updates)
	}
	if err := upgradeMetadata(t, adm, 21, 1); err != nil {
		t.Fatal(err)
	}
	if fin, _, _ := metadataLevelsOf(t, cl); fin != 21 {
		t.Fatalf("finalized %d after the upgrade, want 21", fin)
	}
	if err := upgradeMetadata(t, adm, 21, 1); err != nil { // the same level again changes nothing
		t.Fatal(err)
	}
	if err := upgradeMetadata(t, adm, 20, 1); !errors.Is(err, kerr.InvalidUpdateVersion) {
		t.Fatalf("a lower level as an upgrade: %v, want INVALID_UPDATE_VERSION", err)
	}
	if level, updates := c.MetadataVersion(); level != 21 || updates != 1 {
		t.Fatalf("model: level %d after %d updates, want 21 after 1", level, updates)
	}
}
