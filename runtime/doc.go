// Package runtime is the part of flamingock-go compiled into the
// application: the registry types that generated code fills in ([Change],
// [Stage], [Pipeline], [targets.Deps]) and the [Runner] that applies pending changes
// exactly once, in order, under a fenced lease lock held in the audit store,
// recording every attempt in the audit trail.
//
// Import it with the alias flamingock, since its name shadows the standard
// library's runtime package:
//
//	import flamingock "github.com/flamingock/flamingock-go/runtime"
//
//	usersDB, err := sqltarget.New("users-db", db)
//	...
//	runner, err := flamingock.New(
//		flamingock.NewPipeline(users.Stage(), billing.Stage()),
//		flamingock.WithAuditStore(store),
//		flamingock.WithTargets(usersDB),
//	)
//	report, err := runner.Run(ctx)
//
// Each change runs under one of three protocols, chosen from the change and
// its target (see docs/protocols.md): a shared transaction when the target
// and the audit store are the same database, a target transaction with a
// commit marker when they are not, and a plain call with an optional
// rollback for targets without transactions.
//
// [Runner.Undo] rolls applied changes back on demand with their rollback
// functions, last applied first, under the same lock and protocols, and
// records each as ROLLED_BACK with the reason "undo"; the next run applies
// them again. [Runner.PlanUndo] is its dry run.
package runtime
