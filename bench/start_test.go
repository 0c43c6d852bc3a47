package main

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkReusedStart is flamingock's no-op start on a reused pool
// (postgres.New, pgtarget.New, the generated Stage(), New, Run) at 10 and
// 10,000 applied changes, one start after another in a tight loop, without
// the other tools: go test -bench ReusedStart (needs the local server and
// go generate).
func BenchmarkReusedStart(b *testing.B) {
	ctx := context.Background()
	srv := &server{url: defaultURL}
	for _, n := range []int{10, 10000} {
		schema, err := srv.newSchema(ctx, "probe")
		if err != nil {
			b.Fatal(err)
		}
		defer srv.dropSchema(ctx, schema)
		h, err := openFlamingock(ctx, srv, conn{schema: schema, tracer: &tracer{}})
		if err != nil {
			b.Fatal(err)
		}
		defer h.close()
		if _, err := buildAndUp(ctx, h, n, false); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := buildAndUp(ctx, h, n, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
