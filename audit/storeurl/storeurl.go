package storeurl

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
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
		// Only the scheme is echoed: a string with an unknown scheme may be
		// no URL at all (u:pass@tcp(host)/db is a MySQL DSN whose "scheme"
		// is the user name), so Redact cannot know where its secrets are.
		return nil, fmt.Errorf("%w: unknown scheme %q (this program opens %s)", ErrInvalid, u.Scheme, strings.Join(Schemes(), ", "))
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

// Parse splits raw into a URL. It fails when raw has no scheme, a query
// parameter is not valid percent-encoding, or the user-info password holds
// an unencoded '/', '?' or '#' (which drivers would read as the start of the
// path or query).
func Parse(raw string) (*URL, error) {
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" || !validScheme(scheme) {
		// Nothing of raw is echoed: without a scheme it is no URL this
		// package can take apart, so any part of it may be a secret (a
		// keyword/value DSN's password=..., a MySQL DSN's user:pass@).
		return nil, fmt.Errorf("%w: no scheme: want sqlite:///abs/path/app.db, sqlite:relative/app.db, postgres://user@host:5432/db, mysql://user@host:3306/db or couchbase://host/bucket", ErrInvalid)
	}
	u := &URL{Scheme: strings.ToLower(scheme), Raw: raw, Base: raw}
	ui := splitUserinfo(raw)
	if ui.password != "" {
		u.Secret(ui.password)
	}
	if ui.ambiguous {
		return nil, fmt.Errorf("%w %s: the password must percent-encode '/', '?' and '#' (as %%2F, %%3F, %%23)", ErrInvalid, Redact(raw))
	}
	base, query, hasQuery := cutQuery(raw, ui.queryFrom)
	u.Base = base
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
// mentions a password, secret, token, key or credential (password,
// sslpassword, passwd, client_secret, access_token, api_key, apikey,
// access_key, ...). The module's own flamingock_* parameters hold no keys
// (flamingock_key_prefix is a document-key prefix), so for them "key" does
// not count.
func secretParam(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"pass", "pwd", "secret", "token", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return strings.Contains(k, "key") && !strings.HasPrefix(k, "flamingock_")
}

// Redact returns raw with its secrets replaced by xxxxx and everything else
// as written: the user-info password (everything between the user name's
// colon and the last '@' before the host, even when it holds '/' or '?'),
// the values of secret-like query parameters, and in a string without
// "://" the values of secret-like key=value pairs (a keyword/value DSN such
// as "host=h password=x") and any user:password@ (a MySQL-style DSN). It
// works on strings that do not parse as URLs.
func Redact(raw string) string {
	ui := splitUserinfo(raw)
	if ui.password != "" || ui.ambiguous {
		raw = raw[:ui.colon+1] + "xxxxx" + raw[ui.at:]
		ui = splitUserinfo(raw)
	}
	if !strings.Contains(raw, "://") {
		raw = keywordValue.ReplaceAllStringFunc(raw, func(kv string) string {
			m := keywordValue.FindStringSubmatch(kv)
			if secretParam(m[1]) {
				return m[1] + m[2] + "xxxxx"
			}
			return kv
		})
	}
	base, query, hasQuery := cutQuery(raw, ui.queryFrom)
	if !hasQuery {
		return base
	}
	pairs := strings.Split(query, "&")
	for i, p := range pairs {
		pairs[i] = redactPair(p)
	}
	return base + "?" + strings.Join(pairs, "&")
}

// keywordValue matches one key=value pair of a keyword/value connection
// string; a value is a single-quoted string (with \' escapes) or runs to the
// next space.
var keywordValue = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]*)`)

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

// userinfo locates the user info of a URL or DSN.
type userinfo struct {
	// password is the password as written, "" if none.
	password string
	// colon and at are the indexes of the colon before the password and of
	// the '@' after it; valid when password != "" or ambiguous.
	colon, at int
	// queryFrom is where a query '?' may start: after the user info.
	queryFrom int
	// ambiguous is set when the password holds '/', '?' or '#', which a
	// URL must percent-encode.
	ambiguous bool
}

// splitUserinfo finds the user info as everything before the last '@' of
// the authority. The authority normally ends at the first '/', '?' or '#';
// when no '@' is there but one comes later with user:password before it,
// the password holds an unencoded '/', '?' or '#' and the user info ends at
// that later '@' (unless the colon is followed by a port number, as in
// h:5432/db?application_name=a@b). A string without "://" is a DSN when
// its first '@' follows a user:password.
func splitUserinfo(raw string) userinfo {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	} else {
		// scheme:opaque, or a user:pass@host DSN with no scheme at all.
		at := strings.LastIndex(raw, "@")
		colon := strings.Index(raw, ":")
		if at < 0 || colon < 0 || colon > at || strings.ContainsAny(raw[:colon], "/?#= ") {
			return userinfo{}
		}
		return userinfo{password: raw[colon+1 : at], colon: colon, at: at, queryFrom: at}
	}
	rest := raw[start:]
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	ambiguous := false
	if at < 0 {
		at = strings.LastIndex(rest, "@")
		colon := strings.Index(rest, ":")
		if at < 0 || colon < 0 || colon > at || strings.ContainsAny(rest[:colon], "/?#") {
			return userinfo{queryFrom: start}
		}
		port := rest[colon+1:]
		if i := strings.IndexAny(port, "/?#"); i >= 0 {
			port = port[:i]
		}
		if port != "" && strings.Trim(port, "0123456789") == "" {
			return userinfo{queryFrom: start}
		}
		ambiguous = true
	}
	colon := strings.Index(rest[:at], ":")
	if colon < 0 {
		return userinfo{queryFrom: start + at}
	}
	return userinfo{password: rest[colon+1 : at], colon: start + colon, at: start + at, queryFrom: start + at, ambiguous: ambiguous}
}

// cutQuery splits raw at the first '?' at or after from.
func cutQuery(raw string, from int) (base, query string, ok bool) {
	i := strings.Index(raw[from:], "?")
	if i < 0 {
		return raw, "", false
	}
	return raw[:from+i], raw[from+i+1:], true
}
