package activitylog

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/azvql/azvql/tools/activitygen/activitygen"
)

// BenchmarkRead: events per second through the parser and the row
// mapping (redaction on, the default), both streamed shapes.
func BenchmarkRead(b *testing.B) {
	for _, shape := range []string{activitygen.ShapeJSON, activitygen.ShapeJSONL} {
		var buf bytes.Buffer
		n, err := activitygen.Generate(&buf, 20000, shape, 100, 1, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), nil)
		if err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.Run(shape, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				got := 0
				Read(context.Background(), bytes.NewReader(data), Options{OSPath: "x", Redact: true}, func(string) {},
					func(e *Event) bool { _ = e.Row(); got++; return true })
				if got != n {
					b.Fatalf("%d events, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkCorrelate: the join's cost for n host executions of one VM
// against their n operations plus n operations on another VM.
func BenchmarkCorrelate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		var ops []*OpRef
		var execs []*ExecRef
		for i := 0; i < n; i++ {
			st := t0.Add(time.Duration(i) * 3 * time.Minute)
			name := fmt.Sprintf("rc%d", i%50)
			ops = append(ops, &OpRef{Start: st, End: st.Add(30 * time.Second), Kind: KindManagedRunCommand, VM: "vm-1",
				ExtensionName: name, Caller: "a@b.c", Phases: []string{"BeginRequest", "EndRequest"}},
				&OpRef{Start: st, End: st.Add(30 * time.Second), Kind: KindRunCommand, VM: "vm-2", Phases: []string{"EndRequest"}})
			execs = append(execs, &ExecRef{Kind: "ManagedRunCommand", ExtensionName: name, Started: st.Add(6 * time.Second)})
		}
		b.Run(fmt.Sprintf("execs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var ms runtime.MemStats
			for i := 0; i < b.N; i++ {
				rows := Correlate(ops, execs, []string{"vm-1"}, true)
				if len(rows) != n {
					b.Fatalf("%d rows", len(rows))
				}
			}
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/1e6, "heapMB")
		})
	}
}
