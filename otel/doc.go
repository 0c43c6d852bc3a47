// Package flamingockotel turns the events of a flamingock-go run into
// OpenTelemetry traces and metrics.
//
// It is its own Go module so that applications which do not import it never
// link OpenTelemetry. Register it as a listener of the runner:
//
//	l, err := flamingockotel.Listener(tracerProvider, meterProvider)
//	if err != nil { ... }
//	runner, err := flamingock.New(pipeline, ..., flamingock.WithListener(l))
//
// Traces: one span per run ("flamingock.run"), with a child span per wait
// for the run lock ("flamingock.lock.wait") and per change the run executes
// ("flamingock.change"). A change span carries the change id, stage, target,
// protocol, the action the run took and the audit state it recorded; a span
// whose run or change failed records the error and has status Error.
//
// Metrics: counters of changes applied, failed and rolled back; histograms
// of run and change durations and of the time spent acquiring the run lock;
// gauges of the changes a run found pending and of the changes that need
// manual intervention. docs/observability.md lists every name, unit and
// attribute.
package flamingockotel
