package annotations

import "strconv"

// Prefix starts every directive line. There is no space after "//": that is
// what makes go/ast treat the comment as a directive (hidden from godoc and
// kept at the end of the doc comment by gofmt).
const Prefix = "//flamingock:"

// Kind says which directive a comment holds.
type Kind int

const (
	// KindChange is //flamingock:change: the function applies a change.
	KindChange Kind = iota + 1
	// KindRollback is //flamingock:rollback: the function undoes a change.
	KindRollback
)

// String returns the verb of the directive kind, as written after [Prefix].
func (k Kind) String() string {
	switch k {
	case KindChange:
		return "change"
	case KindRollback:
		return "rollback"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Directive is one parsed //flamingock: comment.
type Directive struct {
	Kind     Kind
	Change   ChangeSpec   // set when Kind == KindChange
	Rollback RollbackSpec // set when Kind == KindRollback
}

// Recovery strategies accepted by the recovery key.
const (
	RecoveryManual = "manual"
	RecoveryRetry  = "retry"
)

// ChangeSpec is what a //flamingock:change directive declares.
type ChangeSpec struct {
	ID, Order, Author, Target, Description string
	// Transactional is true unless the directive says transactional=false.
	Transactional bool
	// Recovery is RecoveryManual (the default) or RecoveryRetry.
	Recovery string
	// Keys records which keys were written explicitly, each mapped to the
	// byte offset of the key within the comment text, so callers can point
	// at a key when they reject its value (an order that collides, a
	// target that does not exist).
	Keys map[string]int
}

// RollbackSpec is what a //flamingock:rollback directive declares.
type RollbackSpec struct {
	// ID is the id of the change the function undoes.
	ID string
	// IDOffset is the byte offset of the id within the comment text.
	IDOffset int
}

// Error is a problem found at byte Offset within the comment text passed to
// [Parse]. A caller that knows where the comment starts computes the column
// as the comment's column plus Offset.
type Error struct {
	Offset int
	Msg    string
}

// Error returns Msg alone; callers prefix it with the source position.
func (e *Error) Error() string { return e.Msg }
