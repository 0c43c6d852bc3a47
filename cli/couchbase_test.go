package cli_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/couchbase/gocb/v2"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/couchbase"
	"github.com/flamingock/flamingock-go/cli"
	"github.com/flamingock/flamingock-go/internal/cbtest"
)

// TestMain stops the gocaves process the Couchbase tests start.
func TestMain(m *testing.M) {
	// Tables fit $COLUMNS; the goldens are written at the default width.
	os.Unsetenv("COLUMNS")
	cbtest.Main(m)
}

// cbURL is the store URL of bucket on srv with the given userinfo (may be
// nil) and query. Every CLI command opens its own cluster connection, and in
// a full `go test ./...` several packages share two cores with their own
// gocaves: the 10 s a user waits for a cluster is too tight here, so the
// URL waits 60 s unless query sets flamingock_wait.
func cbURL(t testing.TB, srv *cbtest.Server, userinfo *url.Userinfo, bucket string, query url.Values) string {
	t.Helper()
	scheme, rest, ok := strings.Cut(srv.ConnStr, "://")
	if !ok {
		t.Fatalf("connection string %q has no scheme", srv.ConnStr)
	}
	hosts, opts, _ := strings.Cut(rest, "?")
	hosts = strings.TrimSuffix(hosts, "/")
	q, err := url.ParseQuery(opts)
	if err != nil {
		t.Fatal(err)
	}
	q.Set(couchbase.ParamWait, "60s")
	for k, v := range query {
		q[k] = v
	}
	s := scheme + "://"
	if userinfo != nil {
		s += userinfo.String() + "@"
	}
	s += hosts + "/" + bucket
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// openCouchbase returns a store under a fresh key prefix on the test
// cluster, and the URL the standalone CLI reaches it by.
func openCouchbase(t *testing.T) (audit.Store, string) {
	t.Helper()
	s, url, _ := openCouchbaseAt(t)
	return s, url
}

// openCouchbaseAt is openCouchbase that also returns the key prefix.
func openCouchbaseAt(t *testing.T) (audit.Store, string, string) {
	t.Helper()
	srv := cbtest.Shared(t)
	prefix := cbtest.Prefix(t)
	s, err := couchbase.New(context.Background(), srv.Connect(t), cbtest.Bucket, couchbase.WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, cbURL(t, srv, url.UserPassword(srv.User, srv.Password), cbtest.Bucket, url.Values{"flamingock_key_prefix": {prefix}}), prefix
}

// stateDocExists reports whether the key prefix has a state document in the
// collection: the CLI must never have created one.
func stateDocExists(t *testing.T, coll *gocb.Collection, prefix string) bool {
	t.Helper()
	_, err := coll.Get(prefix+"::state", nil)
	if errors.Is(err, gocb.ErrDocumentNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func TestCouchbaseStoreURLs(t *testing.T) {
	srv := cbtest.Shared(t)
	store, good, key := openCouchbaseAt(t)
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)
	prefix := url.Values{"flamingock_key_prefix": {key}}
	cluster := srv.Connect(t)
	coll := cluster.Bucket(cbtest.Bucket).DefaultCollection()
	lists := func(t *testing.T, storeURL string) {
		t.Helper()
		r := expect(t, execute(t, standalone(storeURL), "audit", "list"), 0)
		if !strings.Contains(r.stdout, "index-users") {
			t.Errorf("audit list:\n%s", r)
		}
	}

	t.Run("credentials in the URL", func(t *testing.T) { lists(t, good) })
	t.Run("percent-encoded credentials", func(t *testing.T) {
		encoded := url.UserPassword(srv.User, srv.Password).String()
		encoded = strings.Replace(good, encoded, percentEncoded(srv.User)+":"+percentEncoded(srv.Password), 1)
		if encoded == good {
			t.Fatalf("the test URL %q has no credentials to encode", good)
		}
		lists(t, encoded)
	})
	t.Run("credentials from the environment", func(t *testing.T) {
		t.Setenv(couchbase.EnvUser, srv.User)
		t.Setenv(couchbase.EnvPassword, srv.Password)
		lists(t, cbURL(t, srv, nil, cbtest.Bucket, prefix))
	})
	t.Run("user in the URL, password from the environment", func(t *testing.T) {
		t.Setenv(couchbase.EnvUser, "")
		t.Setenv(couchbase.EnvPassword, srv.Password)
		lists(t, cbURL(t, srv, url.User(srv.User), cbtest.Bucket, prefix))
	})
	t.Run("from FLAMINGOCK_STORE", func(t *testing.T) {
		t.Setenv(cli.EnvStore, good)
		expect(t, execute(t, standalone(""), "issue", "list"), 0)
	})

	// The failures below wait 2 s for the cluster, not a minute.
	short := func(q url.Values) url.Values {
		out := url.Values{couchbase.ParamWait: {"2s"}}
		for k, v := range q {
			out[k] = v
		}
		return out
	}
	const password = "not-the-s3cret"
	wrong := url.UserPassword(srv.User, password)
	creds := url.UserPassword(srv.User, srv.Password)
	unused := cbtest.Prefix(t)
	notState := cbtest.Prefix(t)
	if _, err := coll.Upsert(notState+"::state", map[string]string{"owner": "someone else"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, url string
		want      []string
	}{
		{"wrong password", cbURL(t, srv, wrong, cbtest.Bucket, short(prefix)), []string{"refused the connection", "credentials", `user "` + srv.User + `"`, ":xxxxx@"}},
		{"missing bucket", cbURL(t, srv, creds, "no-such-bucket", short(prefix)), []string{`no bucket "no-such-bucket"`}},
		{"unreachable", "couchbase://ops:" + password + "@127.0.0.1:1,127.0.0.1:2/audit?flamingock_wait=2s", []string{
			`cannot reach bucket "audit" of the Couchbase cluster at couchbase://ops:xxxxx@127.0.0.1:1,127.0.0.1:2/audit?flamingock_wait=2s within 2s`, "check the hosts"}},
		{"no audit trail at the prefix", cbURL(t, srv, creds, cbtest.Bucket, short(url.Values{"flamingock_key_prefix": {unused}})), []string{
			"no audit trail at", `no state document "` + unused + `::state" in default._default._default`, "never creates", "flamingock_key_prefix"}},
		{"no audit trail at the default prefix", cbURL(t, srv, creds, cbtest.Bucket, short(nil)), []string{`no state document "flamingock::state"`}},
		{"missing collection", cbURL(t, srv, creds, cbtest.Bucket, short(url.Values{"flamingock_scope": {"nope"}, "flamingock_collection": {"absent"}})), []string{
			`no collection nope.absent in bucket "default"`}},
		{"not a state document", cbURL(t, srv, creds, cbtest.Bucket, short(url.Values{"flamingock_key_prefix": {notState}})), []string{"not a state document"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, execute(t, standalone(c.url), "audit", "list"), 1)
			for _, want := range c.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr should say %q:\n%s", want, r)
				}
			}
			if strings.Contains(r.stderr, password) || strings.Contains(r.stderr, ":"+srv.Password+"@") {
				t.Errorf("the password leaked into an error:\n%s", r)
			}
		})
	}
	if stateDocExists(t, coll, unused) {
		t.Errorf("the CLI created an audit trail at the unused prefix %s", unused)
	}
	if stateDocExists(t, coll, couchbase.DefaultKeyPrefix) {
		t.Errorf("the CLI created an audit trail at the default prefix")
	}
}

// percentEncoded writes every byte of s as %XX, as a URL may.
func percentEncoded(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

// TestCouchbaseCollection: a store in a named collection, under the default
// key prefix, is found only with flamingock_scope and flamingock_collection.
func TestCouchbaseCollection(t *testing.T) {
	srv := cbtest.Shared(t)
	cluster := srv.Connect(t)
	scope, collection := cbtest.Prefix(t), cbtest.Prefix(t)
	mgr := cluster.Bucket(cbtest.Bucket).Collections()
	if err := mgr.CreateScope(scope, nil); err != nil {
		t.Fatal(err)
	}
	if err := mgr.CreateCollection(gocb.CollectionSpec{ScopeName: scope, Name: collection}, nil); err != nil {
		t.Fatal(err)
	}
	store, err := couchbase.New(context.Background(), cluster, cbtest.Bucket, couchbase.WithCollection(scope, collection))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	w := newWorkshop(t)
	expect(t, execute(t, embedded(w.runner(t, store)), "apply"), 0)

	creds := url.UserPassword(srv.User, srv.Password)
	r := expect(t, execute(t, standalone(cbURL(t, srv, creds, cbtest.Bucket, url.Values{"flamingock_scope": {scope}, "flamingock_collection": {collection}})), "audit", "list", "--history"), 0)
	if got := strings.Count(r.stdout, "APPLIED"); got != 3 {
		t.Errorf("audit list --history shows %d APPLIED entries, want 3:\n%s", got, r)
	}
	r = expect(t, execute(t, standalone(cbURL(t, srv, creds, cbtest.Bucket, nil)), "audit", "list"), 1)
	if !strings.Contains(r.stderr, "in default._default._default") || !strings.Contains(r.stderr, "flamingock_scope and flamingock_collection") {
		t.Errorf("without the collection parameters the CLI should look in the default collection and say so:\n%s", r)
	}
}

// TestCouchbaseURLUsage: malformed Couchbase URLs are usage errors, found
// before any connection is tried.
func TestCouchbaseURLUsage(t *testing.T) {
	t.Setenv(couchbase.EnvUser, "")
	t.Setenv(couchbase.EnvPassword, "")
	for _, c := range []struct{ name, url, want string }{
		{"no bucket", "couchbase://ops:secret@cb1.example:11210,cb2.example", "couchbase://ops:xxxxx@cb1.example:11210,cb2.example: names no bucket: want couchbase://cb1.example:11210,cb2.example/BUCKET"},
		{"empty bucket", "couchbases://ops:secret@cb.example/?flamingock_key_prefix=app", "names no bucket"},
		{"no host", "couchbase:///audit", "names no host"},
		{"path beyond the bucket", "couchbase://ops:secret@cb.example/audit/inventory/audit", "the path must be the bucket name alone"},
		{"no slashes", "couchbase:cb.example/audit", "want couchbase://host[:port][,host2]/BUCKET"},
		{"unknown parameter", "couchbase://ops:secret@cb.example/audit?flamingock_schema=x", `unknown parameter "flamingock_schema" (known: flamingock_collection, flamingock_key_prefix, flamingock_scope, flamingock_wait)`},
		{"scope without collection", "couchbase://ops:secret@cb.example/audit?flamingock_scope=app", "give flamingock_scope and flamingock_collection together"},
		{"collection without scope", "couchbase://ops:secret@cb.example/audit?flamingock_collection=audit", "give flamingock_scope and flamingock_collection together"},
		{"empty key prefix", "couchbase://ops:secret@cb.example/audit?flamingock_key_prefix=", "flamingock_key_prefix: must not be empty"},
		{"bad percent-encoding", "couchbase://ops:sec%zzret@cb.example/audit", "not valid percent-encoding"},
		{"no credentials", "couchbase://cb.example/audit", "no Couchbase credentials: write couchbase://USER:PASSWORD@cb.example/audit or set FLAMINGOCK_COUCHBASE_USER and FLAMINGOCK_COUCHBASE_PASSWORD"},
		{"no password", "couchbase://ops@cb.example/audit", "no Couchbase credentials"},
		{"bad gocb option", "couchbase://ops:secret@cb.example/audit?kv_timeout=5s", "kv_timeout option must be a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, execute(t, standalone(c.url), "audit", "list"), 2)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr should say %q:\n%s", c.want, r)
			}
			if strings.Contains(r.stderr, "secret") || strings.Contains(r.stderr, "zzret") {
				t.Errorf("the password leaked into an error:\n%s", r)
			}
		})
	}
}
