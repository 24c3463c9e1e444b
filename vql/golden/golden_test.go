package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azvql/azvql/vql/artifacts"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0644); err != nil {
		t.Fatal(err)
	}
}

func TestParseFixture(t *testing.T) {
	f, err := ParseFixture([]byte(`
Parameters:
  A: "1"
Queries:
  # about q1
  - SELECT 1 FROM scope()
  - {not: scalar}
  - |
    SELECT 2
    FROM scope()
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Parameters["A"] != "1" || len(f.Queries) != 2 ||
		f.Queries[0].Comment != "# about q1" ||
		f.Queries[1].Query != "SELECT 2\nFROM scope()\n" {
		t.Fatalf("%#v", f)
	}
}

// Velociraptor's runner ships batches of 1000 rows: 2500 rows are
// three Output blocks; an empty result is "Output: []".
func TestBatchingAndFormat(t *testing.T) {
	out, err := RunFixture(Options{SrcDir: "/src", Timeout: time.Minute}, &Fixture{
		Parameters: map[string]string{"P": "v"},
		Queries: []QueryDesc{
			{Query: "SELECT _value AS N FROM range(start=0, end=2500)"},
			{Comment: "# c", Query: "SELECT P, srcDir FROM scope()"},
			{Query: "LET X = 1"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(out, "Output: ")
	if len(blocks) != 6 {
		t.Fatalf("want 5 output blocks, got %d", len(blocks)-1)
	}
	for i, want := range []int{1000, 1000, 500} {
		if got := strings.Count(blocks[i+1], `"N":`); got != want {
			t.Errorf("batch %d: %d rows, want %d", i, got, want)
		}
	}
	if !strings.HasPrefix(out, "Query: SELECT _value AS N FROM range(start=0, end=2500)\nOutput: [\n {\n  \"N\": 0\n },\n") {
		t.Errorf("format: %q", out[:120])
	}
	if !strings.Contains(out, "# c\nQuery: SELECT P, srcDir FROM scope()\nOutput: [\n {\n  \"P\": \"v\",\n  \"srcDir\": \"/src\"\n }\n]\n\n") {
		t.Errorf("params/comment: %q", out)
	}
	if !strings.HasSuffix(out, "Query: LET X = 1\nOutput: []\n\n") {
		t.Errorf("LET: %q", out)
	}
}

func TestFatalLog(t *testing.T) {
	for _, q := range []string{
		"SELECT * FROM Artifact.No.Such()",
		"SELECT NoSuchSymbol FROM scope()",
		"SELECT * FROM no_such_plugin()",
		"SELECT * FROM Artifact.Test.A(Nope=1)",
		"SELECT * FROM Artifact.Test.A(source='Nope')",
	} {
		repo := artifacts.NewRepository()
		if _, err := repo.LoadYaml("name: Test.A\nsources:\n - query: SELECT 1 AS X FROM scope()\n",
			artifacts.LoadOptions{Validate: true}); err != nil {
			t.Fatal(err)
		}
		_, err := RunFixture(Options{Timeout: time.Minute, Repository: repo},
			&Fixture{Queries: []QueryDesc{{Query: q}}})
		if err == nil || !strings.Contains(err.Error(), "Log out matches") {
			t.Errorf("%s: want fatal log error, got %v", q, err)
		}
	}
}

// test_read_logs() returns (and forgets) the log: an expected error
// read that way does not fail the testcase, as in Velociraptor.
func TestReadLogs(t *testing.T) {
	out, err := RunFixture(Options{Timeout: time.Minute}, &Fixture{
		Queries: []QueryDesc{
			{Query: "SELECT * FROM no_such_plugin()"},
			{Query: "SELECT Log FROM test_read_logs() WHERE Log =~ 'no_such_plugin' AND NOT Log =~ 'Running query'"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"Log": "Velociraptor: ERROR:Plugin no_such_plugin not found. `) {
		t.Fatalf("%s", out)
	}
}

func TestUnsettableTimes(t *testing.T) {
	_, err := RunFixture(Options{Timeout: time.Minute}, &Fixture{
		Queries: []QueryDesc{{Query: "SELECT 1 AS Atime FROM scope()"}},
	})
	if err == nil || !strings.Contains(err.Error(), `output holds "Atime"`) {
		t.Fatalf("want Atime error, got %v", err)
	}
}

func TestRunCompareUpdate(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "go.mod"), "module x\n")
	dir := filepath.Join(src, "tests", "testcases")
	writeFile(t, filepath.Join(dir, "a.in.yaml"), "Queries:\n  - SELECT 1 AS One FROM scope()\n")
	writeFile(t, filepath.Join(dir, "b.in.yaml"), "Queries:\n  - SELECT 2 AS Two FROM scope()\n")

	// Missing golden files fail unless written.
	res, err := Run(Options{Dir: dir})
	if err != nil || len(res) != 2 || !res[0].Failed() {
		t.Fatalf("missing: %v %+v", err, res)
	}
	res, err = Run(Options{Dir: dir, WriteMissing: true})
	if err != nil || res[0].Status != "new" {
		t.Fatalf("write missing: %v %+v", err, res)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a.out.yaml"))
	if string(got) != "Query: SELECT 1 AS One FROM scope()\nOutput: [\n {\n  \"One\": 1\n }\n]\n\n" {
		t.Fatalf("golden text: %q", got)
	}

	// A change is a failure with a diff, until --update.
	writeFile(t, filepath.Join(dir, "a.in.yaml"), "Queries:\n  - SELECT 3 AS One FROM scope()\n")
	res, _ = Run(Options{Dir: dir, Filter: "a"})
	if len(res) != 1 || !res[0].Failed() || !strings.Contains(res[0].Diff, "+  \"One\": 3") {
		t.Fatalf("diff: %+v", res)
	}
	res, _ = Run(Options{Dir: dir, Filter: "a", Update: true})
	if res[0].Status != "updated" {
		t.Fatalf("update: %+v", res)
	}
	res, _ = Run(Options{Dir: dir})
	if res[0].Status != "ok" || res[1].Status != "ok" {
		t.Fatalf("after update: %+v", res)
	}
}

func TestDiff(t *testing.T) {
	d := Diff("want", "got", "a\nb\nc\nd\ne\nf\ng\n", "a\nb\nc\nD\ne\nf\ng\n")
	if !strings.Contains(d, "-d\n+D\n") || !strings.Contains(d, " c\n") {
		t.Fatalf("%s", d)
	}
	if Diff("a", "b", "same", "same") != "" {
		t.Fatal("equal")
	}
}
