package s3target

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/flamingock/flamingock-go/targets"
)

// Bucket is the target's default bucket, as changes receive it. It is a
// type of its own, not a string, so that dependency lookup (by type) can
// tell it from any other string the application registers.
type Bucket struct {
	Name string
}

// Target is an S3 target. Create it with [New].
type Target struct {
	id     string
	client *s3.Client
	bucket *Bucket
}

var _ targets.Target = (*Target)(nil)

// Option configures a [Target].
type Option func(*Target) error

// bucketName is S3's rule for bucket names (general purpose buckets).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// WithBucket sets the default bucket changes receive as a [Bucket].
func WithBucket(name string) Option {
	return func(t *Target) error {
		if !bucketName.MatchString(name) {
			return fmt.Errorf("WithBucket(%q): a bucket name is 3 to 63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit", name)
		}
		t.bucket = &Bucket{Name: name}
		return nil
	}
}

// New returns a target with the given id over client. The client stays
// the caller's.
func New(id string, client *s3.Client, opts ...Option) (*Target, error) {
	if id == "" {
		return nil, errors.New("s3 target: target id is empty")
	}
	if client == nil {
		return nil, fmt.Errorf("s3 target %q: client is nil", id)
	}
	t := &Target{id: id, client: client}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("s3 target %q: nil Option", id)
		}
		if err := o(t); err != nil {
			return nil, fmt.Errorf("s3 target %q: %w", id, err)
		}
	}
	return t, nil
}

// ID implements [targets.Target].
func (t *Target) ID() string { return t.id }

// Client returns the client changes receive.
func (t *Target) Client() *s3.Client { return t.client }

// Bucket returns the default bucket, if one was set.
func (t *Target) Bucket() (Bucket, bool) {
	if t.bucket == nil {
		return Bucket{}, false
	}
	return *t.bucket, true
}

// Provide gives changes the *s3.Client and, when set, the default
// [Bucket]. A change that asks for a Bucket on a target without one is
// reported before anything runs.
func (t *Target) Provide(d *targets.Deps) {
	targets.Provide(d, t.client)
	if t.bucket != nil {
		targets.Provide(d, *t.bucket)
	}
}
