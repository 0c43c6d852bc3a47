package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"github.com/flamingock/flamingock-go/audit"
	"github.com/flamingock/flamingock-go/audit/storeurl"
)

// Store URL parameters for stores whose tables were renamed or whose lock
// row has another key; the application passes the same values to the
// options of the same names.
const (
	ParamHistoryTable = "flamingock_history_table"
	ParamLatestTable  = "flamingock_latest_table"
	ParamLockTable    = "flamingock_lock_table"
	ParamLockKey      = "flamingock_lock_key"
)

func init() { storeurl.Register(openURL, "sqlite", "sqlite3", "file") }

// openURL opens sqlite:///abs/path.db (absolute) or sqlite:rel/path.db
// (relative to the working directory) for an operations tool: the file and
// the tables must exist; nothing is created.
func openURL(ctx context.Context, u *storeurl.URL) (audit.Store, error) {
	parsed, err := url.Parse(u.Base)
	if err != nil {
		return nil, u.Invalidf("%v", errors.Unwrap(err))
	}
	var path string
	switch {
	case parsed.Host != "":
		return nil, u.Invalidf("names a host (%q): write sqlite:///abs/path.db for an absolute path (three slashes) or sqlite:%s%s for a relative one", parsed.Host, parsed.Host, parsed.Path)
	case parsed.Opaque != "":
		if path, err = url.PathUnescape(parsed.Opaque); err != nil {
			return nil, u.Invalidf("%v", err)
		}
	default:
		path = parsed.Path
	}
	if path == "" {
		return nil, u.Invalidf("no file path: want sqlite:///abs/path/app.db or sqlite:relative/app.db")
	}
	opts := []Option{WithoutAutoCreate()}
	option := func(o func(string) Option) func(string) error {
		return func(v string) error { opts = append(opts, o(v)); return nil }
	}
	// SQLite takes no driver parameters: anything else is a mistake.
	if _, err := u.Take(map[string]func(string) error{
		ParamHistoryTable: option(WithHistoryTable),
		ParamLatestTable:  option(WithLatestTable),
		ParamLockTable:    option(WithLockTable),
		ParamLockKey:      option(WithLockKey),
	}, true); err != nil {
		return nil, err
	}
	// A bad table name is the URL's fault, not the database's.
	if _, err := newConfig(opts); err != nil {
		return nil, u.Invalidf("%v", err)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no audit database at %s (the application creates the file on its first run)", path)
	}
	s, err := Open(ctx, path, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the audit store %s: %w (is this the application's audit database, and are the table names the same? see the flamingock_*_table parameters)", path, err)
	}
	return s, nil
}
