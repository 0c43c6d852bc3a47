// Command flamingock is the standalone operations CLI of flamingock-go: it
// reads an application's audit trail, lists and explains issues, records
// resolutions, and shows or breaks the run lock, connecting to the audit
// store by URL:
//
//	flamingock --store sqlite:///var/lib/app/flamingock.db issue list
//	FLAMINGOCK_STORE=postgres://ops@db:5432/app flamingock audit list --history
//
// Plan, apply, validate and status need the application's compiled changes;
// they are available when the application mounts [cli.Command]. See
// docs/operations.md.
package main
