// Package targets is the contract between the runtime and the target
// systems changes are applied to, the way database/sql/driver serves
// database drivers: an application imports a target package (sqltarget,
// pgtarget, kafkatarget, s3target, cbtarget) and hands its value to the
// runtime; only authors of a new target implement the interfaces here.
//
// A [Target] provides what a change receives ([Deps]); a [Transactional]
// target also begins transactions ([Tx]) that carry a commit marker
// ([Marker]) or, when the audit store keeps its trail in the same database,
// the audit entry itself ([TxAppender]). docs/protocols.md says how the
// runner uses each method and what a crash at each step leaves.
package targets
