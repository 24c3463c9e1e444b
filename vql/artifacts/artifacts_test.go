package artifacts

import (
	"context"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

const testArtifact = `
name: Test.Two.Sources
description: Two sources, typed parameters.
parameters:
  - name: Greeting
    default: hello
  - name: Loud
    type: bool
    default: "Y"
  - name: Count
    type: int
    default: "3"
  - name: Odd Name
export: |
  LET Shout(X) = upcase(string=X)
sources:
  - name: First
    query: |
      LET Words = SELECT Greeting AS Word FROM scope()
      SELECT Word, Loud FROM Words
  - name: Second
    query: SELECT "second" AS Which FROM scope()
`

func mustRepo(t *testing.T, defs ...string) *Repository {
	t.Helper()
	repo := NewRepository()
	for _, d := range defs {
		if _, err := repo.LoadYaml(d, LoadOptions{Validate: true}); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	return repo
}

func TestStrictSchema(t *testing.T) {
	_, err := ParseYaml("name: X.Y\nsources:\n - query: SELECT * FROM info()\n   colour: red\n")
	if err == nil || !strings.Contains(err.Error(), "field colour not found") {
		t.Fatalf("want unknown field error, got %v", err)
	}

	// Every documented key of the Velociraptor schema is accepted.
	_, err = ParseYaml(`
name: X.Y
aliases: [X.Z]
description: d
author: a
reference: [r]
references: [r]
required_permissions: [FILESYSTEM_READ]
implied_permissions: [EXECVE]
impersonate: x
resources: {timeout: 10, ops_per_second: 1, cpu_limit: 1, iops_limit: 1, max_rows: 1, max_upload_bytes: 1, max_batch_wait: 1, max_batch_rows: 1, max_batch_rows_buffer: 1}
tools:
  - {name: t, url: u, github_project: g, github_asset_regex: r, serve_locally: true, version: "1", expected_hash: h, filename: f}
precondition: SELECT * FROM info()
parameters:
  - {name: p, default: d, description: d, type: choices, choices: [a], friendly_name: f, validating_regex: ".", artifact_type: client, sources: true}
type: CLIENT
imports: [A.B]
export: LET X = 1
reports:
  - {type: client, timeout: 1, name: n, template: t, parameters: [{name: x}]}
column_types:
  - {name: c, type: timestamp, description: d}
sources:
  - name: S
    description: d
    query: SELECT 1 FROM scope()
    notebook:
      - {type: vql, template: t, name: n, output: o, env: [{key: k, value: v}]}
`)
	if err != nil {
		t.Fatalf("full schema: %v", err)
	}
}

func TestValidation(t *testing.T) {
	repo := NewRepository()
	for _, c := range []struct{ yaml, want string }{
		{"name: 1Bad.Name\n", "can not start with a number"},
		{"name: A.B\ntype: weird\n", "Artifact type invalid"},
		{"name: A.B\nsources:\n - query: SELECT * FROM\n", "While parsing source query"},
		{"name: A.B\nsources:\n - query: |\n     SELECT 1 FROM scope()\n     SELECT 2 FROM scope()\n", "must be LET queries"},
		{"name: A.B\nrequired_permissions: [NOPE]\n", "Invalid artifact permission"},
		{"name: A.B\nprecondition: SELECT 1 FROM scope()\nsources:\n - precondition: SELECT 1 FROM scope()\n   query: SELECT 1 FROM scope()\n", "top level precondition and a source precondition"},
	} {
		_, err := repo.LoadYaml(c.yaml, LoadOptions{Validate: true})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: want %q, got %v", c.yaml, c.want, err)
		}
	}
}

func TestCompile(t *testing.T) {
	repo := mustRepo(t, testArtifact)
	requests, err := repo.Compile("Test.Two.Sources", nil, CompilerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(requests) != 1 {
		t.Fatalf("want 1 request, got %d", len(requests))
	}
	var got []string
	for _, q := range requests[0].Queries {
		got = append(got, q.Name+"|"+q.VQL)
	}
	want := []string{
		"|LET Loud <= get(field='Loud') = TRUE OR get(field='Loud') =~ '^(Y|TRUE|YES|OK)$' ",
		"|LET Count <= int(int=Count)",
		"|LET Shout(X) = upcase(string=X)",
		"|LET Words = SELECT Greeting AS Word FROM scope()",
		"|LET Test_Two_Sources_First_0_1 = SELECT Word, Loud FROM Words",
		"Test.Two.Sources/First|SELECT * FROM Test_Two_Sources_First_0_1",
		"|LET Test_Two_Sources_Second_1_0 = SELECT \"second\" AS Which FROM scope()",
		"Test.Two.Sources/Second|SELECT * FROM Test_Two_Sources_Second_1_0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("compiled:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if quoteIdent("Odd Name") != "`Odd Name`" {
		t.Fatalf("escape")
	}
}

func runQuery(t *testing.T, scope vfilter.Scope, query string) []*ordereddict.Dict {
	t.Helper()
	vql, err := vfilter.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	ctx := context.Background()
	for row := range vql.Eval(ctx, scope) {
		rows = append(rows, vfilter.RowToDict(ctx, scope, row))
	}
	return rows
}

type logSink struct{ lines []string }

func (l *logSink) Write(b []byte) (int, error) {
	l.lines = append(l.lines, string(b))
	return len(b), nil
}

func TestArtifactPlugin(t *testing.T) {
	repo := mustRepo(t, `
name: Test.Simple
parameters:
  - name: Greeting
    default: hello
  - name: Loud
    type: bool
sources:
  - name: A
    query: SELECT Greeting, Loud FROM scope()
  - name: B
    query: SELECT "b" AS Which FROM scope()
`)
	scope := vfilter.NewScope()
	scope.AppendFunctions(getFunction{})
	Install(scope, repo)

	rows := runQuery(t, scope, "SELECT * FROM Artifact.Test.Simple(Greeting='hi', Loud='YES')")
	if len(rows) != 2 {
		t.Fatalf("rows: %v", rows)
	}
	if g, _ := rows[0].GetString("Greeting"); g != "hi" {
		t.Errorf("Greeting: %v", rows[0])
	}
	if l, _ := rows[0].Get("Loud"); l != true {
		t.Errorf("Loud: %v", rows[0])
	}
	if s, _ := rows[0].GetString("_Source"); s != "Test.Simple/A" {
		t.Errorf("_Source: %v", rows[0])
	}

	rows = runQuery(t, scope, "SELECT * FROM Artifact.Test.Simple(source='B')")
	if len(rows) != 1 || rows[0].Len() != 2 {
		t.Fatalf("source B: %v", rows)
	}

	sink := &logSink{}
	scope.SetLogger(newLogger(sink))
	rows = runQuery(t, scope, "SELECT * FROM Artifact.Test.Simple(Nope=1)")
	if len(rows) != 0 || !strings.Contains(strings.Join(sink.lines, ""),
		`ERROR:Test.Simple: unknown parameter "Nope" provided to artifact Test.Simple (valid parameters: `) {
		t.Fatalf("unknown arg: %v %v", rows, sink.lines)
	}
}

func TestImportsAndRecursion(t *testing.T) {
	repo := mustRepo(t, `
name: Test.Lib
export: |
  LET Double(X) = X * 2
`, `
name: Test.User
imports: [Test.Lib]
export: LET Own = 1
sources:
  - query: SELECT Double(X=21) AS D, Own FROM scope()
`, `
name: Test.Loop
sources:
  - query: SELECT * FROM Artifact.Test.Loop()
`, `
name: Test.BadImport
imports: [Test.Missing]
sources:
  - query: SELECT 1 AS A FROM scope()
`)
	requests, err := repo.Compile("Test.User", nil, CompilerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Own export first, then the imported ones, then the source.
	var got []string
	for _, q := range requests[0].Queries {
		got = append(got, q.VQL)
	}
	want := "LET Own = 1\nLET Double(X) = X * 2\nLET Test_User_0_0 = SELECT Double(X=21) AS D, Own FROM scope()\nSELECT * FROM Test_User_0_0"
	if strings.Join(got, "\n") != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}

	if _, err := repo.Compile("Test.BadImport", nil, CompilerOptions{}); err == nil ||
		!strings.Contains(err.Error(), "Artifact Test.BadImport imports Test.Missing which is not known.") {
		t.Fatalf("bad import: %v", err)
	}

	scope := vfilter.NewScope()
	Install(scope, repo)
	rows := runQuery(t, scope, "SELECT * FROM Artifact.Test.User()")
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	if d, _ := rows[0].Get("D"); d != int64(42) {
		t.Fatalf("D = %#v", d)
	}

	sink := &logSink{}
	scope.SetLogger(newLogger(sink))
	rows = runQuery(t, scope, "SELECT * FROM Artifact.Test.Loop()")
	if len(rows) != 0 || !strings.Contains(strings.Join(sink.lines, ""), "Stack overflow: Test.Loop") {
		t.Fatalf("loop: %v %v", rows, sink.lines)
	}
}

func TestCollectorParams(t *testing.T) {
	repo := mustRepo(t, `
name: Test.P
parameters:
  - name: B
    type: bool
  - name: C
    type: choices
    choices: [x, y]
  - name: S
sources:
  - query: SELECT * FROM scope()
`)
	params, warnings, err := repo.CollectorParams([]string{"Test.P"},
		[]string{"B=true", "C=z", "Test.P::S=v", "Other.A::S=w"})
	if err == nil || !strings.Contains(err.Error(), "Other.A::S=w") {
		t.Fatalf("want unknown arg error, got %v", err)
	}
	params, warnings, err = repo.CollectorParams([]string{"Test.P"},
		[]string{"B=true", "C=z", "Test.P::S=v"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range params["Test.P"] {
		got = append(got, e.Key+"="+e.Value)
	}
	if strings.Join(got, ",") != "B=Y,C=z,S=v" || len(warnings) != 1 {
		t.Fatalf("%v %v", got, warnings)
	}
}

func TestRunRequestTimeout(t *testing.T) {
	repo := mustRepo(t, `
name: Test.Slow
resources:
  timeout: 1
sources:
  - query: SELECT * FROM foreach(row={SELECT * FROM range(end=1000000000)}, query={SELECT _value FROM scope() WHERE FALSE})
`)
	requests, err := repo.Compile("Test.Slow", nil, CompilerOptions{})
	if err != nil || len(requests) != 1 || requests[0].Timeout != 1 {
		t.Fatalf("%v %v", err, requests)
	}
	err = RunRequest(context.Background(), vfilter.NewScope(), requests[0],
		func(string, *ordereddict.Dict) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "Test.Slow: Query timed out after 1 seconds") {
		t.Fatalf("want timeout, got %v", err)
	}
}
