package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	vqlBinary string
	buildErr  error
)

// vql builds the command once per test run.
func vql(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vql-cli-test")
		if err != nil {
			buildErr = err
			return
		}
		vqlBinary = filepath.Join(dir, "vql")
		if runtime.GOOS == "windows" {
			vqlBinary += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", vqlBinary, "../vql").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building vql: %v", buildErr)
	}
	return vqlBinary
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(vql(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func TestCLIVerify(t *testing.T) {
	_, stderr, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "verify",
		"bad_artifacts/unknown_plugin.yaml", "artifacts_fixtures/Test/Azvql/Smoke.yaml")
	if err == nil {
		t.Fatal("verify of a bad artifact exited 0")
	}
	for _, want := range []string{
		"bad_artifacts/unknown_plugin.yaml: Test.Bad.UnknownPlugin/Main: query: Unknown plugin no_such_plugin()",
		"1 of 2 artifact files failed verification",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}

	stdout, stderr, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "verify",
		"artifacts_fixtures/Test/Azvql/Smoke.yaml")
	if err != nil || !strings.Contains(stdout, "OK") {
		t.Fatalf("good artifact: %v\n%s%s", err, stdout, stderr)
	}
}

func TestCLIListShow(t *testing.T) {
	stdout, _, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "list", "Test.*")
	if err != nil || !strings.Contains(stdout, "Test.Azvql.Smoke\n") {
		t.Fatalf("list: %v %q", err, stdout)
	}
	stdout, _, err = run(t, "--definitions", "artifacts_fixtures", "artifacts", "list", "Nothing.*")
	if err != nil || stdout != "" {
		t.Fatalf("list no match: %v %q", err, stdout)
	}
	stdout, _, err = run(t, "--definitions", "artifacts_fixtures", "artifacts", "show", "Test.Azvql.Smoke")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"name: Test.Azvql.Smoke\n",
		"# LET Count <= int(int=Count)\n",
		"# -- Results of Test.Azvql.Smoke/Range:\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("show lacks %q", want)
		}
	}
}

func TestCLICollect(t *testing.T) {
	out := filepath.Join(t.TempDir(), "collection")
	_, stderr, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "collect",
		"Test.Azvql.Smoke", "--args", "Greeting=yo", "--format", "csv", "--output", out)
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, stderr)
	}
	for _, f := range []string{
		"log.json",
		"results/Test.Azvql.Smoke%2FParams.json",
		"results/Test.Azvql.Smoke%2FParams.csv",
		"results/Test.Azvql.Smoke%2FRange.json",
	} {
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(f))); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	data, _ := os.ReadFile(filepath.Join(out, "results", "Test.Azvql.Smoke%2FRange.json"))
	if string(data) != "{\"N\":1,\"Line\":\"yo #1\"}\n{\"N\":2,\"Line\":\"yo #2\"}\n" {
		t.Errorf("Range results: %q", data)
	}

	// A second collection into the same folder is refused.
	if _, _, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "collect",
		"Test.Azvql.Smoke", "--output", out); err == nil {
		t.Error("collect into an existing collection succeeded")
	}

	// An argument no artifact takes is an error.
	_, stderr, err = run(t, "--definitions", "artifacts_fixtures", "artifacts", "collect",
		"Test.Azvql.Smoke", "--args", "Nope=1")
	if err == nil || !strings.Contains(stderr, "--args Nope=1: no artifact collected") {
		t.Errorf("unknown arg: %v %s", err, stderr)
	}

	// Without --output rows go to stdout with their _Source.
	stdout, _, err := run(t, "--definitions", "artifacts_fixtures", "artifacts", "collect",
		"Test.Azvql.Smoke", "--format", "jsonl", "--args", "Count=2")
	if err != nil || !strings.Contains(stdout, `{"N":1,"Line":"hello #1","_Source":"Test.Azvql.Smoke/Range"}`) {
		t.Errorf("stdout: %v %s", err, stdout)
	}
}

// A misspelt or missing argument never passes as an empty result: the
// command prints what rows it has, names the argument on stderr with
// the valid ones, and exits non-zero (issue 12 §6, issue 11 §3).
func TestCLIArgumentErrors(t *testing.T) {
	for _, c := range []struct {
		name, query string
		want        []string
	}{
		{"plugin typo", "SELECT * FROM azure_run_executions(rot='/')", []string{
			`ERROR:azure_run_executions: unexpected argument "rot"`,
			"(valid arguments: root, accessor, redact, decrypt, keys, password, os, kinds, after, before)"}},
		{"missing required", "SELECT * FROM azure_extension_settings(root='x')", []string{
			`ERROR:azure_extension_settings: missing required argument "filename"`,
			"filename (required), accessor, root"}},
		{"function typo", "SELECT azure_decrypt(dat='x') FROM scope()", []string{
			`ERROR:azure_decrypt: unexpected argument "dat"`, "data (required), thumbprint"}},
		{"built-in function typo", "SELECT upcase(strin='a') AS U FROM scope()", []string{
			`ERROR:upcase: unexpected argument "strin" (valid arguments: string (required))`}},
		{"vfilter plugin typo", "SELECT * FROM foreach(row=[1], quer={SELECT 1 FROM scope()})", []string{
			`ERROR:foreach: unexpected argument "quer"`, "row (required), query"}},
		{"glob argument not honoured", "SELECT * FROM glob(globs='/x', one_filesystem=TRUE)", []string{
			`ERROR:glob: unexpected argument "one_filesystem"`}},
		{"artifact parameter typo", "SELECT * FROM Artifact.Linux.Azure.RunCommand(Rot='/')", []string{
			`ERROR:Linux.Azure.RunCommand: unknown parameter "Rot" provided to artifact Linux.Azure.RunCommand`,
			"(valid parameters: Root, RedactSecrets"}},
	} {
		stdout, stderr, err := run(t, "query", "--format", "json", c.query)
		if err == nil {
			t.Errorf("%s: exited 0\nstdout %s\nstderr %s", c.name, stdout, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, stderr)
			}
		}
	}

	// The same query spelt right exits 0.
	if _, stderr, err := run(t, "query", "--format", "json",
		"SELECT * FROM azure_run_executions(root='fixtures/linux') LIMIT 1"); err != nil {
		t.Fatalf("correct query failed: %v\n%s", err, stderr)
	}
}

// An argument error inside an artifact fails `artifacts collect` too:
// the error is on stderr and in log.json, the results are still written.
func TestCLICollectArgumentError(t *testing.T) {
	defs := t.TempDir()
	if err := os.WriteFile(filepath.Join(defs, "typo.yaml"), []byte(`name: Test.Typo
sources:
  - query: SELECT * FROM azure_run_executions(rot='/')
`), 0644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "collection")
	_, stderr, err := run(t, "--definitions", defs, "artifacts", "collect", "Test.Typo", "--output", out)
	if err == nil {
		t.Fatalf("collect exited 0\n%s", stderr)
	}
	for _, want := range []string{`ERROR:azure_run_executions: unexpected argument "rot"`, "the collection logged 1 error(s)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	logJSON, err := os.ReadFile(filepath.Join(out, "log.json"))
	if err != nil || !strings.Contains(string(logJSON), `"level":"ERROR"`) {
		t.Errorf("log.json: %v\n%s", err, logJSON)
	}
}
