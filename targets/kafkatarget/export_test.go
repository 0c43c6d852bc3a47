package kafkatarget

// ReadCommitted lets the tests count what a topic holds, read committed.
var ReadCommitted = readCommitted
