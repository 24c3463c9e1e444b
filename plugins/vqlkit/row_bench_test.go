package vqlkit

import (
	"fmt"
	"testing"

	"github.com/Velocidex/ordereddict"
)

// BenchmarkColumnsRow compares the ways to build one row of n columns:
// Row (fills the dict's fields through the mirrored layout), Set (the
// public API, one Set per column: NewDict then Set) and CopyUpdate (the
// other public route: Copy a prepared dict, then Update each column).
// docs/performance.md quotes the figures.
func BenchmarkColumnsRow(b *testing.B) {
	for _, n := range []int{17, 39} { // azure_waagent_log, azure_run_executions
		names := make([]string, n)
		values := make([]interface{}, n)
		for i := range names {
			names[i] = fmt.Sprintf("Column%02d", i)
			values[i] = int64(i)
		}
		c := NewColumns(names...)
		template := ordereddict.NewDict()
		for _, k := range names {
			template.Set(k, nil)
		}
		b.Run(fmt.Sprintf("Row/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.Row(values...)
			}
		})
		b.Run(fmt.Sprintf("Set/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.slowRow(values)
			}
		})
		b.Run(fmt.Sprintf("CopyUpdate/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				d := template.Copy()
				for j, k := range names {
					d.Update(k, values[j])
				}
			}
		})
	}
}
