package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/azvql/azvql/internal/fixtures"
)

// azure_run_executions' os=, kinds=, after=, before= keep exactly the
// executions the artifacts' Executions sources kept with VQL
// (`OS = ... AND ( Kind = ... ) AND InDateRange(When=Started || Finished)`,
// Generic.Azure.Utils' InDateRange spelt out), on every fixture tree
// that holds executions (their file times applied), with windows cut at
// the executions' own times (both ends inclusive) as well as wide ones.
func TestExecutionsFilterMatchesVQL(t *testing.T) {
	tmp := t.TempDir()
	var roots []string
	for _, tree := range []string{"linux", "linux-bad", "linux-cse", "linux-rc2", "linux-rc2-bad", "windows", "windows-bad", "goalstates", "logs"} {
		if _, err := os.Stat(filepath.Join("fixtures", tree)); err != nil {
			t.Fatalf("fixture %s: %v", tree, err)
		}
		root, err := fixtures.CopyAndApply("fixtures", tree, filepath.Join(tmp, tree))
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	// Every execution's When (Started, else Finished), to cut windows at.
	var whens []string
	total := 0
	for _, root := range roots {
		out, stderr, err := run(t, "query", "--format", "jsonl",
			fmt.Sprintf("SELECT Started || Finished AS When FROM azure_run_executions(root='%s')", root))
		if err != nil {
			t.Fatalf("%s: %v\n%s", root, err, stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			total++
			var r struct{ When any }
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			if s, ok := r.When.(string); ok {
				whens = append(whens, s)
			}
		}
	}
	sort.Strings(whens)
	if total < 30 || len(whens) < 10 || len(whens) == total {
		t.Fatalf("fixtures hold %d executions, %d with a time: too few to test a filter", total, len(whens))
	}
	at := func(f float64) string { return whens[int(f*float64(len(whens)-1))] }
	type filter struct {
		os            string
		kinds         []string
		after, before string
	}
	filters := []filter{
		{os: "Linux", kinds: []string{"RunCommand", "ManagedRunCommand"}},
		{os: "Windows", kinds: []string{"RunCommand", "ManagedRunCommand"}},
		{os: "Linux", kinds: []string{"CustomScript"}},
		{os: "Windows", kinds: []string{"CustomScript"}},
		{os: "Windows"},
		{kinds: []string{"ManagedRunCommand"}},
		{after: at(0.5)},
		{before: at(0.5)},
		{after: at(0.25), before: at(0.75)},
		// Inclusive ends: an execution at exactly after/before is kept.
		{after: at(0.3), before: at(0.3)},
		{os: "Linux", kinds: []string{"RunCommand", "ManagedRunCommand"}, after: at(0.2), before: at(0.9)},
		{after: "2024-01-01T00:00:00Z", before: "2030-01-01"},
		{after: "2099-01-01T00:00:00Z"},
	}
	list := func(v []string) string {
		if v == nil {
			return "NULL"
		}
		return "['" + strings.Join(v, "', '") + "']"
	}
	lit := func(s string) string { return "'" + s + "'" }
	var quoted []string
	for _, r := range roots {
		quoted = append(quoted, lit(r))
	}
	rootList := "[" + strings.Join(quoted, ", ") + "]"
	kept := 0
	for _, f := range filters {
		osWhere, kindWhere := "TRUE", "TRUE"
		if f.os != "" {
			osWhere = "OS = " + lit(f.os)
		}
		if f.kinds != nil {
			var or []string
			for _, k := range f.kinds {
				or = append(or, "Kind = "+lit(k))
			}
			kindWhere = "( " + strings.Join(or, " OR ") + " )"
		}
		inPlugin := fmt.Sprintf("SELECT * FROM foreach(row=%s, query={ SELECT * FROM azure_run_executions(root=_value, "+
			"os=%s, kinds=%s, after=%s, before=%s) })", rootList, lit(f.os), list(f.kinds), lit(f.after), lit(f.before))
		inVQL := fmt.Sprintf("LET DateAfter <= if(condition=%[2]s, then=timestamp(epoch=%[2]s)) "+
			"LET DateBefore <= if(condition=%[3]s, then=timestamp(epoch=%[3]s)) "+
			"LET InDateRange(When) = NOT ( DateAfter AND When AND When < DateAfter ) "+
			"AND NOT ( DateBefore AND When AND When > DateBefore ) "+
			"SELECT * FROM foreach(row=%[1]s, query={ SELECT * FROM azure_run_executions(root=_value) "+
			"WHERE %[4]s AND %[5]s AND InDateRange(When=Started || Finished) })",
			rootList, lit(f.after), lit(f.before), osWhere, kindWhere)
		got, stderr1, err1 := run(t, "query", "--format", "jsonl", inPlugin)
		want, stderr2, err2 := run(t, "query", "--format", "jsonl", inVQL)
		if err1 != nil || err2 != nil {
			t.Fatalf("%+v: %v %v\n%s\n%s", f, err1, err2, stderr1, stderr2)
		}
		n := strings.Count(got, "\n")
		if got != want {
			t.Errorf("%+v: plugin filter kept %d executions, VQL %d\nplugin:\n%s\nVQL:\n%s",
				f, n, strings.Count(want, "\n"), got, want)
		}
		kept += n
		t.Logf("%+v: %d of %d executions", f, n, total)
	}
	if kept == 0 || kept >= total*len(filters) {
		t.Errorf("the filters kept %d of %d: they test nothing", kept, total*len(filters))
	}
}

// A typo in os= or kinds=, or a bound that is not a time, is an error,
// never an empty success.
func TestExecutionsFilterArgumentErrors(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("fixtures", "linux"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{"os='linux'", "kinds=['Runcommand']", "kinds=[1]", "after='yesterday'", "before=[1,2]"} {
		_, stderr, err := run(t, "query", "--format", "jsonl",
			fmt.Sprintf("SELECT * FROM azure_run_executions(root='%s', %s)", root, args))
		if err == nil || !strings.Contains(stderr, "azure_run_executions") {
			t.Errorf("%s: err=%v stderr=%q", args, err, stderr)
		}
	}
}
