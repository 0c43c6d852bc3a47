// Package s3target is the target system for Amazon S3 and S3-compatible
// object stores through the AWS SDK for Go v2.
//
// Changes receive the *s3.Client and, when the target was given a default
// bucket with [WithBucket], a [Bucket] naming it, so a change can be
// written as
//
//	func UploadPrices(ctx context.Context, client *s3.Client, b s3target.Bucket) error
//
// S3 has no transactions: every change runs under the non-transactional
// protocol (STARTED, apply, APPLIED), whatever it declares. A change that
// fails is undone by its own rollback function (delete the objects it
// wrote, restore a previous version); a crash in the middle leaves the
// change STARTED, which the next run reports as an issue under manual
// recovery or applies again under retry. See docs/targets.md.
//
// The package is named s3target so that it does not shadow the SDK's s3
// package in the files that use both.
package s3target
