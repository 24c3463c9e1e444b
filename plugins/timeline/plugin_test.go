package timeline

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"os"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/internal/fixtures"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
)

func testScope() vfilter.Scope {
	scope := vfilter.NewScope()
	scope.SetLogger(log.New(io.Discard, "", 0))
	scope.AppendPlugins(builtins.ParseEvtxPlugin{})
	return scope
}

// timelineRowsCount runs the plugin and counts its rows.
func timelineRowsCount(tb testing.TB, args *ordereddict.Dict) int {
	n := 0
	for range (Plugin{}).Call(context.Background(), testScope(), args) {
		n++
	}
	return n
}

func timelineRows(t *testing.T, args *ordereddict.Dict) []string {
	t.Helper()
	scope := testScope()
	var out []string
	for row := range (Plugin{}).Call(context.Background(), scope, args) {
		b, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestTimelineSpilledSameRows: the Windows demo tree's timeline (every
// source but the volume) with a run size that spills every few rows is
// the in-memory timeline, row for row with Detail, and leaves no files.
func TestTimelineSpilledSameRows(t *testing.T) {
	root, err := fixtures.CopyAndApply("../../tests/fixtures", "windows", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mem := timelineRows(t, ordereddict.NewDict().Set("root", root))
	spilled := timelineRows(t, ordereddict.NewDict().Set("root", root).Set("tempdir", dir).Set("run_bytes", 4096))
	if len(mem) < 100 {
		t.Fatalf("only %d rows on the Windows demo tree", len(mem))
	}
	if len(spilled) != len(mem) {
		t.Fatalf("%d rows spilled, %d in memory", len(spilled), len(mem))
	}
	for i := range mem {
		if mem[i] != spilled[i] {
			t.Fatalf("row %d:\n spilled %s\n memory  %s", i, spilled[i], mem[i])
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}
