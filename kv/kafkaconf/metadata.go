package kafkaconf

import (
	"fmt"
	"strconv"
	"strings"
)

// MetadataVersionFeature is the name of Kafka's metadata version feature (KIP-778): the
// finalized level of the cluster metadata's format, which a cluster keeps at the level it
// was formatted at until someone raises it (kafka-features.sh upgrade, the Admin API's
// UpdateFeatures). Raised, it cannot go back down without the risk of losing metadata: the
// brokers of an older Kafka release refuse to start on it.
const MetadataVersionFeature = "metadata.version"

// MinMetadataVersion is the lowest metadata.version level the supported releases run at
// (3.3-IV3, the oldest a KRaft cluster of Kafka 3.8 and later may be bootstrapped with).
const MinMetadataVersion int16 = 7

// metadataVersions is, per supported release, the newest metadata.version level it
// offers for production and its name, from Kafka's MetadataVersion enum
// (server-common/.../server/common/MetadataVersion.java): 3.8-IV0 is 20, 3.9-IV0 is 21,
// 4.0-IV3 is 25 (the 4.0.0 release's LATEST_PRODUCTION). A cluster that a release formats
// starts at that level.
var metadataVersions = map[string]struct {
	level int16
	name  string
}{
	"3.8": {20, "3.8-IV0"},
	"3.9": {21, "3.9-IV0"},
	"4.0": {25, "4.0-IV3"},
}

// metadataVersionNames names every level from MinMetadataVersion to the newest supported.
var metadataVersionNames = map[int16]string{
	7: "3.3-IV3", 8: "3.4-IV0", 9: "3.5-IV0", 10: "3.5-IV1", 11: "3.5-IV2", 12: "3.6-IV0",
	13: "3.6-IV1", 14: "3.6-IV2", 15: "3.7-IV0", 16: "3.7-IV1", 17: "3.7-IV2", 18: "3.7-IV3",
	19: "3.7-IV4", 20: "3.8-IV0", 21: "3.9-IV0", 22: "4.0-IV0", 23: "4.0-IV1", 24: "4.0-IV2",
	25: "4.0-IV3",
}

// MetadataVersion is the newest metadata.version level Kafka version v (as VersionOf
// accepts it) runs, the level to finalize after an upgrade to it.
func MetadataVersion(v string) (int16, error) {
	mm, err := VersionOf(v)
	if err != nil {
		return 0, err
	}
	mv, ok := metadataVersions[mm]
	if !ok {
		return 0, fmt.Errorf("%w %q: no metadata version known", ErrUnsupportedVersion, v)
	}
	return mv.level, nil
}

// MetadataVersionName is the name Kafka gives a metadata.version level ("3.9-IV0"), or the
// level itself for a level this package does not name.
func MetadataVersionName(level int16) string {
	if n, ok := metadataVersionNames[level]; ok {
		return n
	}
	return strconv.Itoa(int(level))
}

// CheckMetadataVersion reports whether Kafka version v runs metadata.version level: not
// below MinMetadataVersion, not above v's newest.
func CheckMetadataVersion(v string, level int16) error {
	newest, err := MetadataVersion(v)
	if err != nil {
		return err
	}
	if level < MinMetadataVersion || level > newest {
		return fmt.Errorf("level %d (%s) is not one Kafka %s runs (%d to %d, %s)", level, MetadataVersionName(level),
			strings.TrimSpace(v), MinMetadataVersion, newest, MetadataVersionName(newest))
	}
	return nil
}
