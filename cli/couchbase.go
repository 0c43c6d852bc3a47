package cli

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
	"github.com/flamingock/flamingock-go/audit/couchbase"
)

// Environment variables with the Couchbase credentials, for store URLs that
// do not carry them (so that a password need not sit in a shell history or
// a process list).
const (
	EnvCouchbaseUser     = "FLAMINGOCK_COUCHBASE_USER"
	EnvCouchbasePassword = "FLAMINGOCK_COUCHBASE_PASSWORD"
)

// Couchbase store URL query parameters; the application passes the same
// values to audit/couchbase's WithKeyPrefix and WithCollection.
const (
	paramKeyPrefix  = "flamingock_key_prefix"
	paramScope      = "flamingock_scope"
	paramCollection = "flamingock_collection"
)

// couchbaseWait bounds how long opening a Couchbase store waits for the
// bucket to answer.
var couchbaseWait = 10 * time.Second

// couchbaseURL is a couchbase:// or couchbases:// store URL taken apart.
// Hosts are kept as written: a Couchbase connection string lists several
// (host[:port], separated by commas), which net/url cannot parse.
type couchbaseURL struct {
	scheme         string
	hosts          string
	user, password string
	userSet        bool // the URL has userinfo
	passwordSet    bool
	bucket         string
	query          url.Values
}

// parseCouchbaseURL splits raw into its parts. Userinfo and the bucket are
// percent-decoded.
func parseCouchbaseURL(raw string) (*couchbaseURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, usagef("audit store URL %s: want couchbase://host[:port][,host2]/BUCKET", redactCouchbase(raw))
	}
	u := &couchbaseURL{scheme: strings.ToLower(scheme)}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		user, password, hasPassword := strings.Cut(userinfo, ":")
		var err1, err2 error
		u.user, err1 = url.PathUnescape(user)
		u.password, err2 = url.PathUnescape(password)
		if err := errors.Join(err1, err2); err != nil {
			return nil, usagef("audit store URL %s: the user name or password is not valid percent-encoding", redactCouchbase(raw))
		}
		u.userSet, u.passwordSet = true, hasPassword
	}
	u.hosts = authority
	if u.hosts == "" {
		return nil, usagef("audit store URL %s names no host: want %s://host[:port][,host2]/BUCKET", u, u.scheme)
	}
	path, rawQuery, _ := strings.Cut(tail, "?")
	bucket, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return nil, usagef("audit store URL %s: bucket %q is not valid percent-encoding", u, path)
	}
	u.bucket = bucket
	if u.query, err = url.ParseQuery(rawQuery); err != nil {
		return nil, usagef("audit store URL %s: query: %v", u, err)
	}
	switch {
	case u.bucket == "":
		return nil, usagef("audit store URL %s names no bucket: want %s://%s/BUCKET (the bucket the application keeps its audit trail in)", u, u.scheme, u.hosts)
	case strings.Contains(u.bucket, "/"):
		return nil, usagef("audit store URL %s: the path must be the bucket name alone, not %q (scope and collection go in flamingock_scope and flamingock_collection)", u, u.bucket)
	}
	return u, nil
}

// String is the URL with the password replaced by xxxxx, fit for messages.
func (u *couchbaseURL) String() string {
	var b strings.Builder
	b.WriteString(u.scheme + "://")
	if u.userSet {
		b.WriteString(url.PathEscape(u.user))
		if u.passwordSet {
			b.WriteString(":xxxxx")
		}
		b.WriteString("@")
	}
	b.WriteString(u.hosts)
	if u.bucket != "" {
		b.WriteString("/" + url.PathEscape(u.bucket))
	}
	if len(u.query) > 0 {
		b.WriteString("?" + u.query.Encode())
	}
	return b.String()
}

// connStr is the connection string gocb is given: the hosts and the query
// parameters that are not flamingock_*, which are gocb's own options.
func (u *couchbaseURL) connStr() string {
	q := url.Values{}
	for k, v := range u.query {
		if !strings.HasPrefix(k, "flamingock_") {
			q[k] = v
		}
	}
	s := u.scheme + "://" + u.hosts
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// redactCouchbase hides the userinfo of a Couchbase URL that did not parse.
func redactCouchbase(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return redact(raw)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		return scheme + "://xxxxx" + rest[i:]
	}
	return raw
}

func openCouchbase(ctx context.Context, raw string) (audit.Store, error) {
	u, err := parseCouchbaseURL(raw)
	if err != nil {
		return nil, err
	}
	prefix := couchbase.DefaultKeyPrefix
	var scope, collection string
	err = storeParams(u.query, map[string]func(string){
		paramKeyPrefix:  func(v string) { prefix = v },
		paramScope:      func(v string) { scope = v },
		paramCollection: func(v string) { collection = v },
	}, false)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ name, value string }{{paramKeyPrefix, prefix}, {paramScope, scope}, {paramCollection, collection}} {
		if u.query.Has(p.name) && p.value == "" {
			return nil, usagef("audit store URL %s: %s is empty", u, p.name)
		}
	}
	if (scope == "") != (collection == "") {
		return nil, usagef("audit store URL %s: give %s and %s together (the collection's scope and name), or neither for the default collection", u, paramScope, paramCollection)
	}
	opts := []couchbase.Option{couchbase.WithKeyPrefix(prefix)}
	if scope == "" {
		scope, collection = "_default", "_default"
	} else {
		opts = append(opts, couchbase.WithCollection(scope, collection))
	}

	user, password := u.user, u.password
	if !u.userSet {
		user = os.Getenv(EnvCouchbaseUser)
	}
	if !u.passwordSet {
		password = os.Getenv(EnvCouchbasePassword)
	}
	if user == "" || password == "" {
		return nil, usagef("audit store URL %s: no Couchbase credentials: write %s://USER:PASSWORD@%s/%s or set %s and %s",
			u, u.scheme, u.hosts, u.bucket, EnvCouchbaseUser, EnvCouchbasePassword)
	}

	cluster, err := gocb.Connect(u.connStr(), gocb.ClusterOptions{
		Authenticator: gocb.PasswordAuthenticator{Username: user, Password: password},
		// The CLI moves a few small documents; compression off lets it talk
		// to every server, the gocaves mock included, which does not
		// decompress.
		CompressionConfig: gocb.CompressionConfig{Disabled: true},
	})
	if err != nil {
		return nil, usagef("audit store URL %s: %v", u, err)
	}
	bucket := cluster.Bucket(u.bucket)
	err = bucket.WaitUntilReady(couchbaseWait, &gocb.WaitUntilReadyOptions{
		Context:      ctx,
		ServiceTypes: []gocb.ServiceType{gocb.ServiceTypeKeyValue},
	})
	if err != nil {
		_ = cluster.Close(nil)
		why := "check the hosts and ports"
		switch reasons := retryReasons(err); {
		case reasons["BUCKET_NOT_FOUND"]:
			why = fmt.Sprintf("the cluster answered but has no bucket %q that user %q may open", u.bucket, user)
		case reasons["CONNECTION_ERROR"]:
			why = fmt.Sprintf("the cluster answered but refused the connection: check the credentials (user %q) and, for couchbases://, TLS", user)
		}
		return nil, fmt.Errorf("cannot reach bucket %q of the Couchbase cluster at %s within %v: %s: %w", u.bucket, u, couchbaseWait, why, err)
	}

	// WithoutAutoCreate: the CLI must never start an audit trail.
	s, err := couchbase.New(ctx, cluster, u.bucket, append(opts, couchbase.WithoutAutoCreate())...)
	switch {
	case errors.Is(err, couchbase.ErrNoAuditTrail):
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("no audit trail at %s: %w\n%s", u, err, cbTrailHint)
	case errors.Is(err, gocb.ErrScopeNotFound), errors.Is(err, gocb.ErrCollectionNotFound), retryReasons(err)["KV_COLLECTION_OUTDATED"]:
		// gocb retries an unknown collection (it may be being created)
		// until the operation times out.
		_ = cluster.Close(nil)
		return nil, fmt.Errorf("no collection %s.%s in bucket %q at %s: %w\n%s", scope, collection, u.bucket, u, err, cbTrailHint)
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

const cbTrailHint = "The CLI never creates an audit trail: is this the application's bucket? If the application passes WithKeyPrefix or WithCollection to the audit store, add flamingock_key_prefix or flamingock_scope and flamingock_collection to the URL."

// clusterStore closes the cluster connection the CLI opened along with the
// store.
type clusterStore struct {
	*couchbase.Store
	cluster *gocb.Cluster
}

func (s *clusterStore) Close() error {
	err := s.Store.Close()
	return errors.Join(err, s.cluster.Close(nil))
}
