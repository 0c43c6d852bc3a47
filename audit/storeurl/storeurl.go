package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/flamingock/flamingock-go/audit"
)

// ErrInvalid is wrapped by every error that says the URL itself is wrong:
// unknown scheme, malformed, an unknown flamingock_* parameter or an invalid
// value for one. Command lines report it as a usage error.
var ErrInvalid = errors.New("invalid audit store URL")

// Opener opens the store u names, creating nothing: an operations tool
// pointed at the wrong place must say so rather than start an empty audit
// trail there. Closing the store closes whatever the opener connected.
type Opener func(ctx context.Context, u *URL) (audit.Store, error)

var (
	mu      sync.RWMutex
	openers = map[string]Opener{}
)

// Register makes Open use open for URLs of the given schemes (compared
// without regard to case). Store packages call it from init; registering a
// scheme twice panics, as it means two packages claim the same URLs.
func Register(open Opener, schemes ...string) {
	mu.Lock()
	defer mu.Unlock()
	if open == nil {
		panic("storeurl: Register with a nil opener")
	}
	for _, s := range schemes {
		s = strings.ToLower(s)
		if _, dup := openers[s]; dup {
			panic("storeurl: scheme " + s + " registered twice")
		}
		openers[s] = open
	}
}

// Schemes lists the registered schemes, sorted.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(openers))
	for s := range openers {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// storePackages says which package to import for the schemes of this
// module's own stores, for the error when a program did not link one.
var storePackages = map[string]string{
	"sqlite": "audit/sqlite", "sqlite3": "audit/sqlite", "file": "audit/sqlite",
	"postgres": "audit/postgres", "postgresql": "audit/postgres",
	"couchbase": "audit/couchbase", "couchbases": "audit/couchbase",
	"mysql": "audit/mysql", "mariadb": "audit/mysql",
}

// Open opens the audit store raw names through the opener registered for
// its scheme. Errors never contain the URL's secrets.
func Open(ctx context.Context, raw string) (audit.Store, error) {
	u, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	mu.RLock()
	open := openers[u.Scheme]
	mu.RUnlock()
	if open == nil {
		if pkg, ok := storePackages[u.Scheme]; ok {
			return nil, u.Invalidf("this program does not include the %s store: import _ \"github.com/flamingock/flamingock-go/%s\" (the standalone flamingock command includes every store)", u.Scheme, pkg)
		}
		return nil, u.Invalidf("unknown scheme %q (this program opens %s)", u.Scheme, strings.Join(Schemes(), ", "))
	}
	s, err := open(ctx, u)
	if err != nil {
		return nil, u.scrub(err)
	}
	return s, nil
}

// URL is a store URL taken apart only as far as every store agrees:
// scheme, the part before the query, and the query parameters as written.
// Hosts are not parsed: a Couchbase connection string lists several
// (h1:11210,h2), which net/url cannot parse.
type URL struct {
	// Scheme is the scheme in lower case.
	Scheme string
	// Raw is the URL as given. It may hold secrets: never print it.
	Raw string
	// Base is Raw without its query ("?..."), as written.
	Base string
	// Params are the query parameters in the order written.
	Params []Param

	secrets []string
}

// Param is one query parameter: its name and value percent-decoded (a "+"
// stays a plus sign), and the pair as written.
type Param struct {
	Key, Value string
	Raw        string
}

// Parse splits raw into a URL. It fails only when raw has no scheme or a
// query parameter is not valid percent-encoding.
func Parse(raw string) (*URL, error) {
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" || !validScheme(scheme) {
		return nil, fmt.Errorf("%w %s: no scheme: want sqlite:///abs/path/app.db, sqlite:relative/app.db, postgres://user@host:5432/db, mysql://user@host:3306/db or couchbase://host/bucket", ErrInvalid, quote(Redact(raw)))
	}
	u := &URL{Scheme: strings.ToLower(scheme), Raw: raw, Base: raw}
	base, query, hasQuery := strings.Cut(raw, "?")
	u.Base = base
	if pw, ok := userinfoPassword(base); ok && pw != "" {
		u.Secret(pw)
	}
	if !hasQuery {
		return u, nil
	}
	for _, pair := range strings.Split(query, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.PathUnescape(k)
		value, err2 := url.PathUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%w %s: query parameter %s is not valid percent-encoding", ErrInvalid, Redact(raw), quote(redactPair(pair)))
		}
		if secretParam(key) && value != "" {
			u.Secret(v)
			u.Secret(value)
		}
		u.Params = append(u.Params, Param{Key: key, Value: value, Raw: pair})
	}
	return u, nil
}

func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func quote(s string) string { return "\"" + s + "\"" }

// String is the URL with its secrets replaced by xxxxx, fit for messages.
func (u *URL) String() string { return Redact(u.Raw) }

// Secret adds a value that must not appear in any error Open returns, such
// as a password an opener read from the environment.
func (u *URL) Secret(s string) {
	if s != "" && !slices.Contains(u.secrets, s) {
		u.secrets = append(u.secrets, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			u.secrets = append(u.secrets, d)
		}
	}
}

// Invalidf returns an error wrapping [ErrInvalid] that starts with the
// redacted URL.
func (u *URL) Invalidf(format string, args ...any) error {
	return &invalidError{msg: "audit store URL " + u.String() + ": " + fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Is(target error) bool {
	return target == ErrInvalid
}

// Take applies the parameters whose names start with flamingock_ through
// set, and returns the other parameters joined as written, for the driver.
// A flamingock_ parameter that set does not name, or one set rejects, is an
// [ErrInvalid] error; so is any other parameter when strict (a store that
// passes nothing to a driver).
func (u *URL) Take(set map[string]func(string) error, strict bool) (rest string, err error) {
	known := make([]string, 0, len(set))
	for n := range set {
		known = append(known, n)
	}
	slices.Sort(known)
	var keep []string
	for _, p := range u.Params {
		f, ok := set[p.Key]
		if !ok {
			if !strict && !strings.HasPrefix(p.Key, "flamingock_") {
				keep = append(keep, p.Raw)
				continue
			}
			return "", u.Invalidf("unknown parameter %q (known: %s)", p.Key, strings.Join(known, ", "))
		}
		if err := f(p.Value); err != nil {
			return "", u.Invalidf("%s: %v", p.Key, err)
		}
	}
	return strings.Join(keep, "&"), nil
}

// Has reports whether the URL has a parameter named key.
func (u *URL) Has(key string) bool {
	return slices.ContainsFunc(u.Params, func(p Param) bool { return p.Key == key })
}

// scrub returns err with every secret of u in its message replaced by
// xxxxx; errors.Is and errors.As still see err.
func (u *URL) scrub(err error) error {
	msg := err.Error()
	secrets := slices.Clone(u.secrets)
	// Longest first, so that a secret containing another is hidden whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	clean := msg
	for _, s := range secrets {
		clean = strings.ReplaceAll(clean, s, "xxxxx")
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// secretParam reports whether a query parameter carries a secret: its name
// mentions a password, secret or token (password, sslpassword, passwd,
// client_secret, access_token, ...).
func secretParam(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "passwd", "pwd", "secret", "token", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Redact returns raw with the user-info password and the values of
// password-like query parameters replaced by xxxxx, and everything else as
// written. It works on strings that do not parse as URLs.
func Redact(raw string) string {
	base, query, hasQuery := strings.Cut(raw, "?")
	if pw, ok := userinfoPassword(base); ok && pw != "" {
		at := authorityAt(base)
		colon := strings.Index(base[:at], ":") // the scheme's colon
		colon += 1 + strings.Index(base[colon+1:at], ":")
		base = base[:colon+1] + "xxxxx" + base[at:]
	}
	if !hasQuery {
		return base
	}
	pairs := strings.Split(query, "&")
	for i, p := range pairs {
		pairs[i] = redactPair(p)
	}
	return base + "?" + strings.Join(pairs, "&")
}

func redactPair(pair string) string {
	k, v, ok := strings.Cut(pair, "=")
	key, err := url.PathUnescape(k)
	if err != nil {
		key = k
	}
	if ok && v != "" && secretParam(key) {
		return k + "=xxxxx"
	}
	return pair
}

// authorityAt returns the index of the '@' ending the user info of base
// (scheme://userinfo@hosts/path), or -1.
func authorityAt(base string) int {
	_, rest, ok := strings.Cut(base, "://")
	if !ok {
		return -1
	}
	start := len(base) - len(rest)
	authority := rest
	if i := strings.Index(rest, "/"); i >= 0 {
		authority = rest[:i]
	}
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return -1
	}
	return start + i
}

// userinfoPassword returns the password of base's user info as written.
func userinfoPassword(base string) (string, bool) {
	at := authorityAt(base)
	if at < 0 {
		return "", false
	}
	_, rest, _ := strings.Cut(base[:at], "://")
	_, pw, ok := strings.Cut(rest, ":")
	return pw, ok
}
