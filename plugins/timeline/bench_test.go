package timeline

import (
	"os"
	"testing"

	"github.com/Velocidex/ordereddict"
)

// BenchmarkTimelineTree: azure_timeline over the tree in
// AZVQL_TIMELINE_TREE (e.g. tests/integration/bench-table.sh's 10,000
// executions, or a root holding a large waagent.log); skipped without it.
func BenchmarkTimelineTree(b *testing.B) {
	root := os.Getenv("AZVQL_TIMELINE_TREE")
	if root == "" {
		b.Skip("AZVQL_TIMELINE_TREE not set")
	}
	for i := 0; i < b.N; i++ {
		rows := timelineRowsCount(b, ordereddict.NewDict().Set("root", root))
		b.ReportMetric(float64(rows), "rows")
	}
}
