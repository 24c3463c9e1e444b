package host

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// floorPlugin sends the same pre-built row n times: rows that cost
// nothing to produce, so what a query over it costs is the engine's.
type floorPlugin struct {
	n   int
	row *ordereddict.Dict
}

func (p floorPlugin) Info(types.Scope, *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{Name: "floor"}
}

func (p floorPlugin) Call(ctx context.Context, _ types.Scope, _ *ordereddict.Dict) <-chan types.Row {
	out := make(chan types.Row, 64)
	go func() {
		defer close(out)
		for i := 0; i < p.n; i++ {
			select {
			case <-ctx.Done():
				return
			case out <- p.row:
			}
		}
	}()
	return out
}

// BenchmarkEngineFloor is the query engine's own cost per row in the
// host's scope, read as vql query reads it (host.Eval, host.ReadOnlyRow),
// nothing printed: the least any plugin's `SELECT count() FROM` can cost
// (docs/performance.md). Run it with -cpu 1 for the one-core figure.
func BenchmarkEngineFloor(b *testing.B) {
	row := ordereddict.NewDict()
	for i := 0; i < 16; i++ {
		row.Set(fmt.Sprintf("C%d", i), "x")
	}
	const n = 100000
	// "vfilter: " runs the statement through vfilter's own Eval, for the
	// pass-through of a bare SELECT * (selectStar) to be compared with.
	for _, q := range []string{"SELECT count() FROM floor()", "SELECT * FROM floor()", "vfilter: SELECT * FROM floor()"} {
		viaVfilter := strings.HasPrefix(q, "vfilter: ")
		text := strings.TrimPrefix(q, "vfilter: ")
		b.Run(q, func(b *testing.B) {
			ctx := context.Background()
			stmt, err := vfilter.Parse(text)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				scope := NewScope(Options{Plugins: []vfilter.PluginGeneratorInterface{floorPlugin{n: n, row: row}}})
				rows, done := Eval(ctx, scope, stmt)
				if viaVfilter {
					rows, done = stmt.Eval(ctx, scope), func() {}
				}
				got := 0
				for r := range rows {
					ReadOnlyRow(ctx, scope, r)
					got++
				}
				done()
				scope.Close()
				if got != n {
					b.Fatalf("%d rows", got)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
