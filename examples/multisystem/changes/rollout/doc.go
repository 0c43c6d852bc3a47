// Package rollout is the multisystem example's one stage: four changes,
// applied in order, to three target systems. Kafka gets a topic with its
// configuration and then seed events (inside a Kafka transaction), the user
// database gets a status column, and S3 gets a report object. One audit
// store, kept apart from all three, records each change.
package rollout

//go:generate go tool flamingock-gen

// Names shared by the changes and the program that checks their effects.
const (
	// EventsTopic is the Kafka topic change 0001 configures and change 0002
	// seeds.
	EventsTopic = "user-events"
	// EventsRetention is the retention change 0001 sets on EventsTopic.
	EventsRetention = "604800000" // 7 days, in milliseconds
	// ReportKey is the S3 object change 0004 writes.
	ReportKey = "reports/user-status.json"
)
