package rollout

import (
	"context"
	"encoding/json"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SeedUsers are the users the example registers in Kafka and in the user
// database.
var SeedUsers = []string{"ada@example.com", "grace@example.com", "linus@example.com"}

// SeedUserEvents publishes a user-registered event per seed user. The
// change is transactional (the default): the client it receives is the
// target's transactional producer, so the events and the change's commit
// marker are committed together, and read-committed consumers see either
// all of them or, if the change fails, none.
//
//flamingock:change id=seed-user-events author=platform target=events
func SeedUserEvents(ctx context.Context, producer *kgo.Client) error {
	records := make([]*kgo.Record, 0, len(SeedUsers))
	for _, email := range SeedUsers {
		value, err := json.Marshal(map[string]string{"type": "user-registered", "email": email})
		if err != nil {
			return err
		}
		records = append(records, &kgo.Record{Topic: EventsTopic, Key: []byte(email), Value: value})
	}
	return producer.ProduceSync(ctx, records...).FirstErr()
}
