package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
)

func runQ(t *testing.T, format string, verbose bool, queries ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runQueries(context.Background(), queries, queryOptions{
		Format: format, Env: ordereddict.NewDict().Set("Who", "env"), Verbose: verbose,
		Stdout: &out, Stderr: &errb,
	})
	return out.String(), errb.String(), err
}

func TestQueryStatementsAndFormats(t *testing.T) {
	out, _, err := runQ(t, "jsonl", false, "LET x = 1 SELECT x, Who FROM scope() SELECT 2 AS y FROM scope()", "SELECT 3 AS z FROM scope()")
	if err != nil {
		t.Fatal(err)
	}
	if out != "{\"x\":1,\"Who\":\"env\"}\n{\"y\":2}\n{\"z\":3}\n" {
		t.Errorf("jsonl: %q", out)
	}
	out, _, _ = runQ(t, "json", false, "SELECT 1 AS A FROM scope()")
	if out != "[\n {\n  \"A\": 1\n }\n]\n" {
		t.Errorf("json: %q", out)
	}
	out, _, _ = runQ(t, "jsonl", false, "LET TZ <= 'Australia/Brisbane' SELECT timestamp(epoch=1) AS T FROM scope()")
	if out != "{\"T\":\"1970-01-01T10:00:01+10:00\"}\n" {
		t.Errorf("TZ: %q", out)
	}
	out, _, _ = runQ(t, "csv", false, "SELECT 1 AS A, 'b' AS B FROM scope()")
	if out != "A,B\n1,b\n" {
		t.Errorf("csv: %q", out)
	}
	out, _, _ = runQ(t, "table", false, "SELECT 1 AS A FROM scope()")
	if !strings.HasPrefix(out, "A\n-\n1\n") {
		t.Errorf("table: %q", out)
	}
}

func TestQueryErrorsAndLog(t *testing.T) {
	_, stderr, err := runQ(t, "json", false, "SELECT * FROM no_such_plugin()")
	if err == nil || !strings.Contains(stderr, "Plugin no_such_plugin not found") {
		t.Errorf("unknown plugin: err=%v stderr=%q", err, stderr)
	}
	if _, _, err := runQ(t, "json", false, "SELECT * FROM"); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("parse error: %v", err)
	}
	_, stderr, err = runQ(t, "json", false, "SELECT log(message='quiet') FROM scope()")
	if err != nil || stderr != "" {
		t.Errorf("without -v: %v %q", err, stderr)
	}
	_, stderr, _ = runQ(t, "json", true, "SELECT log(message='loud') FROM scope()")
	if !strings.Contains(stderr, "DEFAULT:loud") {
		t.Errorf("-v: %q", stderr)
	}
}
