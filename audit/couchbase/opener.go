package couchbase

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// Environment variables with the credentials for store URLs that do not
// carry them, so that a password need not sit in a shell history or a
// process list.
const (
	EnvUser     = "FLAMINGOCK_COUCHBASE_USER"
	EnvPassword = "FLAMINGOCK_COUCHBASE_PASSWORD"
)

// Store URL parameters; the application passes the same values to
// [WithKeyPrefix] and [WithCollection]. ParamWait bounds how long opening
// waits for the bucket to answer (a Go duration, default 10s).
const (
	ParamKeyPrefix  = "flamingock_key_prefix"
	ParamScope      = "flamingock_scope"
	ParamCollection = "flamingock_collection"
	ParamWait       = "flamingock_wait"
)

const defaultOpenWait = 10 * time.Second

func init() { storeurl.Register(openURL, "couchbase", "couchbases") }

const trailHint = "The CLI never creates an audit trail: is this the application's bucket? If the application passes WithKeyPrefix or WithCollection to the audit store, add flamingock_key_prefix or flamingock_scope and flamingock_collection to the URL."

// openURL opens couchbase://user:pass@host[:port][,host2]/bucket (or
// couchbases:// for TLS) for an operations tool. Without user info the
// credentials come from [EnvUser] and [EnvPassword]; query parameters that
// are not flamingock_* go to gocb as written. The state document must
// exist; nothing is created.
func openURL(ctx context.Context, u *storeurl.URL) (audit.Store, error) {
	_, rest, ok := strings.Cut(u.Base, "://")
	if !ok {
		return nil, u.Invalidf("want %s://host[:port][,host2]/BUCKET", u.Scheme)
	}
	authority, path, _ := strings.Cut(rest, "/")
	var user, password string
	userSet, passwordSet := false, false
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		rawUser, rawPassword, hasPassword := strings.Cut(userinfo, ":")
		var err1, err2 error
		user, err1 = url.PathUnescape(rawUser)
		password, err2 = url.PathUnescape(rawPassword)
		if errors.Join(err1, err2) != nil {
			return nil, u.Invalidf("the user name or password is not valid percent-encoding")
		}
		userSet, passwordSet = true, hasPassword
	}
	hosts := authority
	if hosts == "" {
		return nil, u.Invalidf("names no host: want %s://host[:port][,host2]/BUCKET", u.Scheme)
	}
	bucket, err := url.PathUnescape(path)
	switch {
	case err != nil:
		return nil, u.Invalidf("bucket %q is not valid percent-encoding", path)
	case bucket == "":
		return nil, u.Invalidf("names no bucket: want %s://%s/BUCKET (the bucket the application keeps its audit trail in)", u.Scheme, hosts)
	case strings.Contains(bucket, "/"):
		return nil, u.Invalidf("the path must be the bucket name alone, not %q (scope and collection go in %s and %s)", bucket, ParamScope, ParamCollection)
	}

	prefix := DefaultKeyPrefix
	var scope, collection string
	wait := defaultOpenWait
	nonEmpty := func(dst *string) func(string) error {
		return func(v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			*dst = v
			return nil
		}
	}
	gocbParams, err := u.Take(map[string]func(string) error{
		ParamKeyPrefix:  nonEmpty(&prefix),
		ParamScope:      nonEmpty(&scope),
		ParamCollection: nonEmpty(&collection),
		ParamWait: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration such as 30s, not %q", v)
			}
			wait = d
			return nil
		},
	}, false)
	if err != nil {
		return nil, err
	}
	if (scope == "") != (collection == "") {
		return nil, u.Invalidf("give %s and %s together (the collection's scope and name), or neither for the default collection", ParamScope, ParamCollection)
	}
	opts := []Option{WithKeyPrefix(prefix), WithoutAutoCreate()}
	if scope == "" {
		scope, collection = "_default", "_default"
	} else {
		opts = append(opts, WithCollection(scope, collection))
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, u.Invalidf("%v", err)
		}
	}

	if !userSet {
		user = os.Getenv(EnvUser)
	}
	if !passwordSet {
		password = os.Getenv(EnvPassword)
		u.Secret(password)
	}
	if user == "" || password == "" {
		return nil, u.Invalidf("no Couchbase credentials: write %s://USER:PASSWORD@%s/%s or set %s and %s", u.Scheme, hosts, bucket, EnvUser, EnvPassword)
	}

	connStr := u.Scheme + "://" + hosts
	if gocbParams != "" {
		connStr += "?" + gocbParams
	}
	cluster, err := gocb.Connect(connStr, gocb.ClusterOptions{
		Authenticator: gocb.PasswordAuthenticator{Username: user, Password: password},
		// An operations tool moves a few small documents; compression off
		// lets it talk to every server, the gocaves mock included, which
		// does not decompress.
		CompressionConfig: gocb.CompressionConfig{Disabled: true},
	})
	if err != nil {
		return nil, u.Invalidf("%v", err)
	}
	b := cluster.Bucket(bucket)
	err = b.WaitUntilReady(wait, &gocb.WaitUntilReadyOptions{
		Context:      ctx,
		ServiceTypes: []gocb.ServiceType{gocb.ServiceTypeKeyValue},
	})
	if err != nil {
		_ = cluster.Close(nil)
		why := "check the hosts and ports"
		switch reasons := retryReasons(err); {
		case reasons["BUCKET_NOT_FOUND"]:
			why = fmt.Sprintf("the cluster answered but has no bucket %q that user %q may open", bucket, user)
		case reasons["CONNECTION_ERROR"]:
			why = fmt.Sprintf("the cluster answered but refused the connection: check the credentials (user %q) and, for couchbases://, TLS", user)
		}
		return nil, fmt.Errorf("cannot reach bucket %q of the Couchbase cluster at %s within %v: %s: %w", bucket, u, wait, why, err)
	}

	s, err := New(ctx, cluster, bucket, opts...)
	switch {
	case errors.Is(err, ErrNoAuditTrail):
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("no audit trail at %s: %w\n%s", u, err, trailHint)
	case errors.Is(err, gocb.ErrScopeNotFound), errors.Is(err, gocb.ErrCollectionNotFound), retryReasons(err)["KV_COLLECTION_OUTDATED"]:
		// gocb retries an unknown collection (it may be being created)
		// until the operation times out.
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("no collection %s.%s in bucket %q at %s: %w\n%s", scope, collection, bucket, u, err, trailHint)
	case err != nil:
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("opening the audit store at %s: %w", u, err)
	}
	// The document exists: make sure it is a state document now, not
	// halfway through a command.
	if _, err := s.LockInfo(ctx); err != nil && !errors.Is(err, audit.ErrNoLock) {
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("reading the audit store at %s: %w", u, err)
	}
	return &clusterStore{Store: s, cluster: cluster}, nil
}

// retryReasons names why gocb retried an operation that then timed out
// ("BUCKET_NOT_FOUND", "CONNECTION_ERROR", ...): the timeout alone does not
// say what is wrong.
func retryReasons(err error) map[string]bool {
	te, ok := errors.AsType[*gocb.TimeoutError](err)
	if !ok {
		return nil
	}
	out := make(map[string]bool, len(te.RetryReasons))
	for _, r := range te.RetryReasons {
		out[r.Description()] = true
	}
	return out
}

// clusterStore closes the cluster connection openURL made along with the
// store.
type clusterStore struct {
	*Store
	cluster *gocb.Cluster
}

func (s *clusterStore) Close() error {
	err := s.Store.Close()
	return errors.Join(err, s.cluster.Close(nil))
}
