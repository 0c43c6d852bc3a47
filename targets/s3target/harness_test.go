package s3target_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/audittest"
	"github.com/flamingock/flamingock-go/audit/sqlite"
	flamingock "github.com/flamingock/flamingock-go/runtime"
	"github.com/flamingock/flamingock-go/targets"
	"github.com/flamingock/flamingock-go/targets/s3target"
)

// Every test runs against gofakes3, an in-process server speaking the S3
// HTTP API, and keeps its audit trail in a SQLite file.

const bucket = "flamingock-test"

// newServer starts an S3 server on loopback and returns its endpoint.
func newServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gofakes3.New(s3mem.New()).Server()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func newClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
}

type env struct {
	client *s3.Client
	target *s3target.Target
	store  *sqlite.Store
}

func openEnv(ctx context.Context, endpoint, auditPath string) (*env, error) {
	e := &env{client: newClient(endpoint)}
	var err error
	if e.target, err = s3target.New("s3", e.client, s3target.WithBucket(bucket)); err != nil {
		return nil, err
	}
	_, err = e.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	// A second process sees the bucket the first created: gofakes3 answers
	// BucketAlreadyExists, AWS BucketAlreadyOwnedByYou.
	_, owned := errors.AsType[*types.BucketAlreadyOwnedByYou](err)
	_, exists := errors.AsType[*types.BucketAlreadyExists](err)
	if err != nil && !owned && !exists {
		return nil, fmt.Errorf("creating bucket: %w", err)
	}
	if e.store, err = sqlite.Open(ctx, auditPath); err != nil {
		return nil, err
	}
	return e, nil
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e, err := openEnv(context.Background(), newServer(t), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	return e
}

type hooks struct{ at func(step string) }

func (h hooks) hit(step string) {
	if h.at != nil {
		h.at(step)
	}
}

// putChange writes one object per attempt, under effects/<id>/<random>, so
// that the tests can count how many times it ran. Built the way generated
// code is: an adapter resolves the typed parameters.
func putChange(id, order string, recovery flamingock.Recovery, h hooks, fail error) flamingock.Change {
	fn := func(ctx context.Context, client *s3.Client, b s3target.Bucket) error {
		h.hit("apply-begin")
		var nonce [8]byte
		_, _ = rand.Read(nonce[:])
		key := "effects/" + id + "/" + hex.EncodeToString(nonce[:])
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: aws.String(key), Body: strings.NewReader(id)}); err != nil {
			return err
		}
		h.hit("apply-end")
		return fail
	}
	return change(id, order, recovery, func(ctx context.Context, d *targets.Deps) error {
		client, b, err := resolve(d)
		if err != nil {
			return err
		}
		return fn(ctx, client, b)
	}, nil)
}

// documentChange writes documents/<id>.json and returns fail; its rollback
// deletes the object, or returns rollbackFail.
func documentChange(id string, fail, rollbackFail error) flamingock.Change {
	key := aws.String("documents/" + id + ".json")
	return change(id, "1", flamingock.RecoveryManual, func(ctx context.Context, d *targets.Deps) error {
		client, b, err := resolve(d)
		if err != nil {
			return err
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b.Name), Key: key, Body: strings.NewReader(`{"v":1}`)}); err != nil {
			return err
		}
		return fail
	}, func(ctx context.Context, d *targets.Deps) error {
		client, b, err := resolve(d)
		if err != nil {
			return err
		}
		if rollbackFail != nil {
			return rollbackFail
		}
		_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.Name), Key: key})
		return err
	})
}

func change(id, order string, recovery flamingock.Recovery, apply, rollback flamingock.ChangeFunc) flamingock.Change {
	return flamingock.Change{
		ID: id, Order: order, Target: "s3", Transactional: false, Recovery: recovery,
		Checksum: "sha256:" + id, Source: flamingock.Position{File: "changes/" + id + ".go", Line: 1},
		Needs: []reflect.Type{flamingock.TypeOf[*s3.Client](), flamingock.TypeOf[s3target.Bucket]()},
		Apply: apply, Rollback: rollback,
	}
}

func resolve(d *targets.Deps) (*s3.Client, s3target.Bucket, error) {
	client, err := targets.Resolve[*s3.Client](d)
	if err != nil {
		return nil, s3target.Bucket{}, err
	}
	b, err := targets.Resolve[s3target.Bucket](d)
	return client, b, err
}

func stage(changes ...flamingock.Change) flamingock.Pipeline {
	return flamingock.NewPipeline(flamingock.Stage{Name: "s", Changes: changes})
}

func (e *env) runner(t testing.TB, p flamingock.Pipeline, opts ...flamingock.Option) *flamingock.Runner {
	t.Helper()
	opts = append([]flamingock.Option{flamingock.WithAuditStore(e.store), flamingock.WithTargets(e.target), flamingock.WithLockWait(20 * time.Second)}, opts...)
	r, err := flamingock.New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// effects counts the objects the change with this id wrote.
func (e *env) effects(t *testing.T, id string) int {
	t.Helper()
	out, err := e.client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("effects/" + id + "/")})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Contents)
}

// exists reports whether an object is there; any error but NoSuchKey fails
// the test.
func (e *env) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := e.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if _, missing := errors.AsType[*types.NoSuchKey](err); missing {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func (e *env) history(t *testing.T, id string) string {
	t.Helper()
	return audittest.States(t, e.store, id)
}

func (e *env) latest(t *testing.T, id string) audit.Entry {
	t.Helper()
	return audittest.Latest(t, e.store, id)
}

var (
	errBoom     = fmt.Errorf("boom")
	errRollback = fmt.Errorf("rollback boom")
)
