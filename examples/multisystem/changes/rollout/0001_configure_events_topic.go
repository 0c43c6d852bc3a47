package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ConfigureEventsTopic creates the user-events topic and sets its
// retention. Admin operations are not transactional in Kafka, so the change
// declares transactional=false and has a rollback.
//
//flamingock:change id=configure-events-topic author=platform target=events transactional=false description="Create user-events with a 7-day retention"
func ConfigureEventsTopic(ctx context.Context, admin *kadm.Client) error {
	if _, err := admin.CreateTopic(ctx, 3, -1, nil, EventsTopic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", EventsTopic, err)
	}
	res, err := admin.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr(EventsRetention)}}, EventsTopic)
	if err != nil {
		return fmt.Errorf("set retention of %s: %w", EventsTopic, err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("set retention of %s: %w", r.Name, r.Err)
		}
	}
	return nil
}

// DeleteEventsTopic undoes a failed ConfigureEventsTopic: the topic is new
// and holds nothing yet.
//
//flamingock:rollback configure-events-topic
func DeleteEventsTopic(ctx context.Context, admin *kadm.Client) error {
	if _, err := admin.DeleteTopic(ctx, EventsTopic); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return err
	}
	return nil
}
