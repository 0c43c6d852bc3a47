package cbtarget_test

import "github.com/couchbase/gocb/v2"

// noHooks implements gocb.TransactionHooks doing nothing; tests embed it
// and override the hook they need.
type noHooks struct{}

func (noHooks) BeforeATRCommit(ctx gocb.TransactionAttemptContext) error                  { return nil }
func (noHooks) AfterATRCommit(ctx gocb.TransactionAttemptContext) error                   { return nil }
func (noHooks) BeforeDocCommitted(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) BeforeRemovingDocDuringStagedInsert(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) BeforeRollbackDeleteInserted(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterDocCommittedBeforeSavingCAS(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterDocCommitted(ctx gocb.TransactionAttemptContext, docID string) error  { return nil }
func (noHooks) BeforeStagedInsert(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) BeforeStagedRemove(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) BeforeStagedReplace(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) BeforeDocRemoved(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) BeforeDocRolledBack(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterDocRemovedPreRetry(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterDocRemovedPostRetry(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterGetComplete(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) AfterStagedReplaceComplete(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterStagedRemoveComplete(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterStagedInsertComplete(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterRollbackReplaceOrRemove(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterRollbackDeleteInserted(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) BeforeCheckATREntryForBlockingDoc(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) BeforeDocGet(ctx gocb.TransactionAttemptContext, docID string) error { return nil }
func (noHooks) BeforeGetDocInExistsDuringStagedInsert(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) BeforeRemoveStagedInsert(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterRemoveStagedInsert(ctx gocb.TransactionAttemptContext, docID string) error {
	return nil
}
func (noHooks) AfterDocsCommitted(ctx gocb.TransactionAttemptContext) error  { return nil }
func (noHooks) AfterDocsRemoved(ctx gocb.TransactionAttemptContext) error    { return nil }
func (noHooks) AfterATRPending(ctx gocb.TransactionAttemptContext) error     { return nil }
func (noHooks) BeforeATRPending(ctx gocb.TransactionAttemptContext) error    { return nil }
func (noHooks) BeforeATRComplete(ctx gocb.TransactionAttemptContext) error   { return nil }
func (noHooks) BeforeATRRolledBack(ctx gocb.TransactionAttemptContext) error { return nil }
func (noHooks) AfterATRComplete(ctx gocb.TransactionAttemptContext) error    { return nil }
func (noHooks) BeforeATRAborted(ctx gocb.TransactionAttemptContext) error    { return nil }
func (noHooks) AfterATRAborted(ctx gocb.TransactionAttemptContext) error     { return nil }
func (noHooks) AfterATRRolledBack(ctx gocb.TransactionAttemptContext) error  { return nil }
func (noHooks) BeforeATRCommitAmbiguityResolution(ctx gocb.TransactionAttemptContext) error {
	return nil
}
func (noHooks) RandomATRIDForVbucket(ctx gocb.TransactionAttemptContext) (string, error) {
	return "", nil
}
func (noHooks) HasExpiredClientSideHook(ctx gocb.TransactionAttemptContext, stage string, vbID string) (bool, error) {
	return false, nil
}
func (noHooks) BeforeQuery(ctx gocb.TransactionAttemptContext, statement string) error { return nil }
func (noHooks) AfterQuery(ctx gocb.TransactionAttemptContext, statement string) error  { return nil }
