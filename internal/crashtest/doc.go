// Package crashtest lets a test kill a pipeline run at a named step, for
// real: the test binary re-executes itself as a child process that runs the
// pipeline and sends itself SIGKILL when it reaches the step, so nothing
// after that point runs (no deferred calls, no flushes), as in a crash. The
// parent then runs the pipeline again and checks what recovery did.
//
// A test package wires it in its TestMain:
//
//	func TestMain(m *testing.M) { crashtest.Main(m, child) }
//
// and the child's changes call [At] at their steps.
package crashtest
