package kafkatarget

import (
	"errors"
	"fmt"

	"github.com/flamingock/flamingock-go/targets"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Target is a non-transactional Kafka target. Create it with [New].
type Target struct {
	id     string
	client *kgo.Client
	admin  *kadm.Client
}

var _ targets.Target = (*Target)(nil)

// New returns a non-transactional target with the given id over client.
// The client stays the caller's to close.
func New(id string, client *kgo.Client) (*Target, error) {
	if id == "" {
		return nil, errors.New("kafka target: target id is empty")
	}
	if client == nil {
		return nil, fmt.Errorf("kafka target %q: client is nil", id)
	}
	return &Target{id: id, client: client, admin: kadm.NewClient(client)}, nil
}

// ID implements [targets.Target].
func (t *Target) ID() string { return t.id }

// Client returns the client changes receive.
func (t *Target) Client() *kgo.Client { return t.client }

// Admin returns the admin client changes receive.
func (t *Target) Admin() *kadm.Client { return t.admin }

// Provide gives changes the *kgo.Client and the *kadm.Client.
func (t *Target) Provide(d *targets.Deps) {
	targets.Provide(d, t.client)
	targets.Provide(d, t.admin)
}
