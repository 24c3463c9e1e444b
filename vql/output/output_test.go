package output

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

func sampleRows() []*ordereddict.Dict {
	t1 := time.Unix(1590938885, 10).UTC()
	t2 := time.Date(2023, 9, 23, 9, 33, 49, 720000000, time.UTC)
	return []*ordereddict.Dict{
		ordereddict.NewDict().
			Set("Name", "héllo <b>&</b> 日本").
			Set("Time", t1).
			Set("Null", vfilter.Null{}).
			Set("Nil", nil).
			Set("Int", int64(42)).
			Set("Float", 1.5).
			Set("Whole", float64(3)).
			Set("Bool", true).
			Set("Nested", ordereddict.NewDict().Set("b", 1).Set("a", []interface{}{"x", t2})),
		ordereddict.NewDict().
			Set("Name", "line1\nline2").
			Set("Time", t2).
			Set("Null", nil).
			Set("Extra", "new column"),
	}
}

func render(t *testing.T, format string, rows []*ordereddict.Dict) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(format, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestMarshalJSONVelociraptorEncoding(t *testing.T) {
	rows := sampleRows()
	b, err := MarshalJSON(rows[0])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Name":"héllo \u003cb\u003e\u0026\u003c/b\u003e 日本","Time":"2020-05-31T15:28:05.00000001Z","Null":null,"Nil":null,"Int":42,"Float":1.5,"Whole":3,"Bool":true,"Nested":{"b":1,"a":["x","2023-09-23T09:33:49.72Z"]}}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
}

func TestMarshalJSONIndentMatchesVelociraptor(t *testing.T) {
	rows := []vfilter.Row{ordereddict.NewDict().Set("A", 1).Set("T", time.Unix(1590938885, 0))}
	b, err := MarshalJSONIndent(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := "[\n {\n  \"A\": 1,\n  \"T\": \"2020-05-31T15:28:05Z\"\n }\n]"
	if string(b) != want {
		t.Fatalf("got %q want %q", b, want)
	}
	empty, _ := MarshalJSONIndent([]vfilter.Row{})
	if string(empty) != "[]" {
		t.Fatalf("empty: %q", empty)
	}
}

func TestTZFromScope(t *testing.T) {
	scope := vfilter.NewScope().AppendVars(ordereddict.NewDict().Set("TZ", "Australia/Brisbane"))
	b, err := MarshalJSONForScope(scope, time.Unix(1590938885, 0))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2020-06-01T01:28:05+10:00"` {
		t.Fatalf("got %s", b)
	}
}

func TestJSONWriterIsIndentOfArray(t *testing.T) {
	rows := sampleRows()
	got := render(t, "json", rows)
	all := make([]vfilter.Row, len(rows))
	for i, r := range rows {
		all[i] = r
	}
	want, err := MarshalJSONIndent(all)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want)+"\n" {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if render(t, "json", nil) != "[]\n" {
		t.Fatal("empty json")
	}
}

func TestJSONL(t *testing.T) {
	got := render(t, "jsonl", sampleRows())
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", got)
	}
	if lines[1] != `{"Name":"line1\nline2","Time":"2023-09-23T09:33:49.72Z","Null":null,"Extra":"new column"}` {
		t.Fatalf("line 2: %s", lines[1])
	}
}

func TestCSV(t *testing.T) {
	got := render(t, "csv", sampleRows())
	want := "Name,Time,Null,Nil,Int,Float,Whole,Bool,Nested\n" +
		`héllo <b>&</b> 日本,2020-05-31T15:28:05.00000001Z,,,42,1.5,3,true,"{""b"":1,""a"":[""x"",""2023-09-23T09:33:49.72Z""]}"` + "\n" +
		"\n" +
		"Name,Time,Null,Nil,Int,Float,Whole,Bool,Nested,Extra\n" +
		"\"line1\nline2\",2023-09-23T09:33:49.72Z,,,,,,,,new column\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTable(t *testing.T) {
	long := strings.Repeat("x", 60)
	rows := []*ordereddict.Dict{
		ordereddict.NewDict().Set("Name", "a").Set("When", time.Unix(1590938885, 10)).Set("V", nil),
		ordereddict.NewDict().Set("Name", long).Set("When", nil).Set("V", "first\nsecond"),
	}
	got := render(t, "table", rows)
	want := "Name                                     | When                 | V\n" +
		"-----------------------------------------+----------------------+-------\n" +
		"a                                        | 2020-05-31T15:28:05Z | \n" +
		strings.Repeat("x", 39) + "… |                      | first…\n" +
		"(2 rows)\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewWriter("xml", &bytes.Buffer{}); err == nil {
		t.Fatal("want error")
	}
}

func TestTableWideAndLong(t *testing.T) {
	rows := []*ordereddict.Dict{
		ordereddict.NewDict().Set("K", "日本語").Set("V", 1),
		ordereddict.NewDict().Set("K", "ab").Set("V", 2),
	}
	got := render(t, "table", rows)
	want := "K      | V\n-------+--\n日本語 | 1\nab     | 2\n(2 rows)\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	var many []*ordereddict.Dict
	for i := 0; i < 2500; i++ {
		many = append(many, ordereddict.NewDict().Set("N", i))
	}
	out := render(t, "table", many)
	if strings.Count(out, "N\n") != 1 || !strings.HasSuffix(out, "2499\n(2500 rows)\n") {
		t.Fatalf("long table: header %d times, tail %q", strings.Count(out, "N\n"), out[len(out)-30:])
	}
	if got := render(t, "table", nil); got != "(0 rows)\n" {
		t.Fatalf("empty table: %q", got)
	}
}
