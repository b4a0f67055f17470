package satellite

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orbitcp/orbit/kv"
	"github.com/orbitcp/orbit/kv/kafkaconf"
)

// Finalizing Kafka's metadata version. A PSC whose spec.metadataVersion is set (a rollout
// that upgraded the cluster was finalized) asks the satellite to raise Kafka's finalized
// metadata.version to that level, once the cluster is Ready on its Kafka version at the
// generation that asks (every broker runs it): through the Admin API's UpdateFeatures, as
// kafka-features.sh upgrade does, upgrade only. It is level-based and idempotent: Kafka's
// finalized level (ApiVersions' finalized features) is read first, and a cluster already at
// the level or above is left alone. The level Kafka reports is in the status
// (Status.Kafka.MetadataVersion) whether or not one is asked for; condition
// MetadataVersionFinalized says where a requested finalize is.

// conditionMetadataFinalized is the condition of a requested finalize.
const conditionMetadataFinalized = "MetadataVersionFinalized"

// featureLevels is what a broker reports of metadata.version: the finalized level (0:
// none) and the highest level its software supports.
type featureLevels struct {
	finalized, supported int16
}

// metadataVersion reads the metadata.version levels a broker of the cluster reports.
func metadataVersion(ctx context.Context, cl *kgo.Client) (featureLevels, error) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "orbit-satellite", "1"
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return featureLevels{}, fmt.Errorf("reading Kafka's features: %w", err)
	}
	var l featureLevels
	for _, f := range resp.FinalizedFeatures {
		if f.Name == kafkaconf.MetadataVersionFeature {
			l.finalized = f.MaxVersionLevel
		}
	}
	for _, f := range resp.SupportedFeatures {
		if f.Name == kafkaconf.MetadataVersionFeature {
			l.supported = f.MaxVersion
		}
	}
	return l, nil
}

// finalizeMetadata reports the cluster's finalized metadata version in st and raises it to
// the level the spec asks for when the cluster is ready for it. st.Kafka is set (the health
// was read) and st.Phase is the phase Kafka's health gave.
func (op *operator) finalizeMetadata(ctx context.Context, cl *kgo.Client, adm *kadm.Client, o *PSCObject, st *PSCObjectStatus) error {
	levels, err := metadataVersion(ctx, cl)
	if err != nil {
		return err
	}
	if st.Kafka != nil {
		st.Kafka.MetadataVersion = levels.finalized
	}
	want := o.Spec.MetadataVersion
	if want <= 0 {
		return nil
	}
	cond := func(status metav1.ConditionStatus, reason, msg string) {
		st.Conditions = setCondition(st.Conditions, o.Status.Conditions, metav1.Condition{Type: conditionMetadataFinalized,
			Status: status, Reason: reason, Message: msg, ObservedGeneration: o.Generation})
	}
	name := kafkaconf.MetadataVersionName(want)
	switch {
	case levels.finalized >= want:
		cond(metav1.ConditionTrue, "Finalized", fmt.Sprintf("metadata.version is %s", kafkaconf.MetadataVersionName(levels.finalized)))
		return nil
	case st.Phase != kv.PhaseReady || st.DesiredGeneration != o.Spec.Generation:
		cond(metav1.ConditionFalse, "WaitingForReady", fmt.Sprintf("metadata.version %s is finalized once the cluster is Ready on Kafka %s", name, o.Spec.Version))
		return nil
	case levels.supported < want:
		cond(metav1.ConditionFalse, "WaitingForBrokers", fmt.Sprintf("brokers support metadata.version up to level %d, not %s yet", levels.supported, name))
		return nil
	}
	res, err := adm.UpdateFeatures(ctx, false, kadm.FeatureUpdate{Feature: kafkaconf.MetadataVersionFeature, MaxVersionLevel: want, UpgradeType: 1})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		err = fmt.Errorf("finalizing metadata.version %s: %w", name, err)
		cond(metav1.ConditionFalse, "FinalizeFailed", err.Error())
		return err
	}
	op.log.Info("finalized Kafka's metadata version", "cluster", o.Name, "from", kafkaconf.MetadataVersionName(levels.finalized), "to", name)
	if st.Kafka != nil {
		st.Kafka.MetadataVersion = want
	}
	cond(metav1.ConditionTrue, "Finalized", fmt.Sprintf("metadata.version is %s", name))
	return nil
}
