// Package storeurl opens an audit store named by a URL, for operations
// tools such as the standalone flamingock command.
//
// Each audit store package registers an [Opener] for its URL schemes when
// it is imported (as database/sql drivers do), so a program links only the
// stores it imports: an application that mounts the operations command
// works on its runner's store and pays for no other driver, while
// cmd/flamingock imports every store and opens any of them.
//
//	import _ "github.com/flamingock/flamingock-go/audit/postgres"
//	store, err := storeurl.Open(ctx, "postgres://ops@db:5432/shop")
//
// A URL is never printed with its secrets: [URL.String] and [Redact] show
// the user-info password and the value of every password-like query
// parameter (password, sslpassword, ...) as xxxxx, and [Open] removes those
// values from any error an opener or its driver returns. Errors that mean
// the URL itself is wrong wrap [ErrInvalid].
//
// Query parameters reach the driver byte-for-byte as written: an opener
// takes out the flamingock_* parameters it understands with [URL.Take] and
// passes the rest on unchanged (re-encoding would turn "%20" into "+",
// which a libpq-style parser reads as a plus sign).
package storeurl
