package timeline

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

// rows are n rows with few distinct keys (many ties) and Details of
// varied size, in a random order.
func testRows(n int) []*Row {
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	var out []*Row
	for i := 0; i < n; i++ {
		t := t0.Add(time.Duration(rng.Intn(50)) * time.Second)
		r := &Row{Time: &t, Source: "AgentLog", Summary: fmt.Sprintf("row %d", i),
			Detail: detail(ordereddict.NewDict().Set("Line", i).Set("Pad", strings.Repeat("x", rng.Intn(200))))}
		r.Key = t.Format(time.RFC3339) // ties: every row of the same second
		out = append(out, r)
	}
	return out
}

// TestSorterSpills: with a run size that spills every few rows (more runs
// than maxFanIn, so runs are first merged into longer ones), the rows
// come back in the order a stable in-memory sort gives (ties in the order
// added), and the temp files are gone after Close.
func TestSorterSpills(t *testing.T) {
	rows := testRows(5000)
	want := append([]*Row(nil), rows...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].Key < want[j].Key })

	dir := t.TempDir()
	s := &Sorter{Dir: dir, RunBytes: 4096}
	for _, r := range rows {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if s.Spilled() <= 2*maxFanIn {
		t.Fatalf("only %d runs spilled: the test must exercise the merge in two levels", s.Spilled())
	}
	var got []*Row
	if err := s.Each(func(r *Row) bool { got = append(got, r); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows back, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Summary != want[i].Summary || !got[i].Time.Equal(*want[i].Time) || string(got[i].Detail) != string(want[i].Detail) {
			t.Fatalf("row %d: got %s %s, want %s %s", i, got[i].Key, got[i].Summary, want[i].Key, want[i].Summary)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) == 0 {
		t.Fatal("no temp files while the sorter is open: nothing spilled where asked")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("temp files left after Close: %v", left)
	}
}

// TestSorterInMemory: below the run size nothing is written.
func TestSorterInMemory(t *testing.T) {
	rows := testRows(300)
	want := append([]*Row(nil), rows...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].Key < want[j].Key })
	dir := t.TempDir()
	s := &Sorter{Dir: dir}
	for _, r := range rows {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	if err := s.Each(func(r *Row) bool {
		if r.Summary != want[i].Summary {
			t.Fatalf("row %d: %s, want %s", i, r.Summary, want[i].Summary)
		}
		i++
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if i != len(want) || s.Spilled() != 0 {
		t.Fatalf("%d rows, %d runs spilled", i, s.Spilled())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("files written for an in-memory sort: %v", left)
	}
	s.Close()
}

// TestSorterStopEarly: a consumer that stops (LIMIT) leaves no files.
func TestSorterStopEarly(t *testing.T) {
	dir := t.TempDir()
	s := &Sorter{Dir: dir, RunBytes: 2048}
	for _, r := range testRows(1000) {
		if err := s.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := s.Each(func(*Row) bool { n++; return n < 10 }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Fatalf("%d rows read, want 10", n)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

// TestSorterBadDir: a temp dir that cannot be written is an error, not a
// silently short timeline.
func TestSorterBadDir(t *testing.T) {
	s := &Sorter{Dir: filepath.Join(t.TempDir(), "missing"), RunBytes: 1}
	err := s.Add(testRows(1)[0])
	if err == nil {
		t.Fatal("no error for a missing temp dir")
	}
	s.Close()
}

// TestOneLine: the Summary's command or message as the VQL timeline
// wrote it (regex_replace of \s+ by a space, cut at 100 characters).
func TestOneLine(t *testing.T) {
	long := strings.Repeat("é", 99) + "  \t\nab"
	for in, want := range map[string]string{
		"":                       "",
		"a \r\n\t\f b\n":         "a b ",
		"\n\nx":                  " x",
		strings.Repeat("x", 100): strings.Repeat("x", 100),
		strings.Repeat("x", 101): strings.Repeat("x", 100) + "...",
		long:                     strings.Repeat("é", 99) + " ...",
		"bad \xff\xfe  utf8":     "bad \xff\xfe utf8",
		"\u00a0nbsp is not \\s":  "\u00a0nbsp is not \\s",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
