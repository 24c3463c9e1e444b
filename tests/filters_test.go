package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The log plugins' own filters (after=, before=, handler_regex=, levels=,
// events=; vqlkit.RecordFilter) keep exactly the rows the same question
// written in VQL keeps (the artifacts' InDateRange and `Handler =~`), on
// every log of the fixtures, through the vql engine.
func TestLogPluginFiltersMatchVQL(t *testing.T) {
	fixtures, err := filepath.Abs("fixtures")
	if err != nil {
		t.Fatal(err)
	}
	type filter struct {
		after, before, re string
		levels, events    []string
	}
	filters := []filter{
		{after: "2025-03-14T00:00:00Z", before: "2025-04-02T08:47:33Z"},
		// Inclusive ends: a record stamped exactly at after/before is kept.
		{after: "2025-04-02T08:47:31.164645Z", before: "2025-04-02T08:47:33.655298Z"},
		{after: "2024-01-01T00:00:00Z"},
		{before: "2021-01-01T00:00:00Z"},
		{re: "RunCommand|CustomScript"},
		{re: "runcommand"}, // =~ is case-insensitive
		{levels: []string{"ERROR"}},
		{levels: []string{"WARNING", "Warning", "WARN", "ERROR", "Error"}},
		{events: []string{"Executing", "Command"}},
		{after: "2025-03-14T00:00:00Z", re: "RunCommand", events: []string{"Executing", "EnableExtension"}},
	}
	list := func(v []string) string {
		if v == nil {
			return "NULL"
		}
		return "['" + strings.Join(v, "','") + "']"
	}
	in := func(col string, v []string) string {
		if v == nil {
			return "TRUE"
		}
		var or []string
		for _, e := range v {
			or = append(or, col+" = '"+e+"'")
		}
		return "( " + strings.Join(or, " OR ") + " )"
	}
	plugins := []struct{ plugin, globs string }{
		{"azure_waagent_log", "['**/waagent.log*', '**/syslog*', '**/messages*']"},
		{"azure_handler_log", "['**/*.log', '**/*.log.[0-9]*']"},
	}
	for _, p := range plugins {
		files := fmt.Sprintf("SELECT OSPath FROM glob(globs=%s, root='%s') WHERE NOT IsDir ORDER BY OSPath", p.globs, fixtures)
		all, stderr, err := run(t, "query", "--format", "jsonl",
			fmt.Sprintf("SELECT * FROM foreach(row={%s}, query={SELECT * FROM %s(filename=OSPath)})", files, p.plugin))
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.plugin, err, stderr)
		}
		total := strings.Count(all, "\n")
		if total < 50 {
			t.Fatalf("%s: only %d rows over the fixtures", p.plugin, total)
		}
		for _, f := range filters {
			lit := func(s string) string {
				if s == "" {
					return "''"
				}
				return "'" + s + "'"
			}
			inPlugin := fmt.Sprintf("SELECT * FROM foreach(row={%s}, query={SELECT * FROM %s(filename=OSPath, "+
				"after=%s, before=%s, handler_regex=%s, levels=%s, events=%s)})",
				files, p.plugin, lit(f.after), lit(f.before), lit(f.re), list(f.levels), list(f.events))
			inVQL := fmt.Sprintf("LET A <= if(condition=%[3]s, then=timestamp(epoch=%[3]s)) "+
				"LET B <= if(condition=%[4]s, then=timestamp(epoch=%[4]s)) "+

				"SELECT * FROM foreach(row={%[1]s}, query={SELECT * FROM %[2]s(filename=OSPath) "+
				"WHERE NOT ( A AND Time AND Time < A ) AND NOT ( B AND Time AND Time > B ) "+
				"AND ( NOT %[5]s OR Handler =~ %[5]s ) "+
				"AND %[6]s AND %[7]s })",
				files, p.plugin, lit(f.after), lit(f.before), lit(f.re), in("Level", f.levels), in("Event", f.events))
			got, stderr1, err1 := run(t, "query", "--format", "jsonl", inPlugin)
			want, stderr2, err2 := run(t, "query", "--format", "jsonl", inVQL)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s %+v: %v %v\n%s\n%s", p.plugin, f, err1, err2, stderr1, stderr2)
			}
			if got != want {
				t.Errorf("%s %+v: plugin filter kept %d rows, VQL %d\nplugin:\n%s\nVQL:\n%s",
					p.plugin, f, strings.Count(got, "\n"), strings.Count(want, "\n"), got, want)
			}
			t.Logf("%s %+v: %d of %d rows", p.plugin, f, strings.Count(got, "\n"), total)
		}
	}
}

// A value that is not a time, or a regex that does not compile, is an
// error, never an empty success.
func TestLogPluginFilterArgumentErrors(t *testing.T) {
	for _, args := range []string{"after='yesterday'", "before=[1,2]", "handler_regex='('", "levels=[1]"} {
		for _, plugin := range []string{"azure_waagent_log", "azure_handler_log"} {
			_, stderr, err := run(t, "query", "--format", "jsonl",
				fmt.Sprintf("SELECT * FROM %s(filename='/nonexistent/waagent.log', %s)", plugin, args))
			if err == nil || !strings.Contains(stderr, plugin) {
				t.Errorf("%s(%s): err=%v stderr=%q", plugin, args, err, stderr)
			}
		}
	}
}

// azure_log_executions' after=, before=, handler_regex= keep exactly the
// executions the artifacts' Executions sources kept with VQL
// (`Handler =~ HandlerRegex AND InDateRange(When=Started || LastSeen)`),
// over every log of the fixtures read as one set.
func TestLogExecutionsFilterMatchesVQL(t *testing.T) {
	fixtures, err := filepath.Abs("fixtures")
	if err != nil {
		t.Fatal(err)
	}
	files := fmt.Sprintf("SELECT OSPath FROM glob(globs=['**/*.log', '**/*.log.[0-9]*', '**/waagent.log*'], root='%s') "+
		"WHERE NOT IsDir AND NOT OSPath =~ '[/\\\\]events[/\\\\]' ORDER BY OSPath", fixtures)
	all, stderr, err := run(t, "query", "--format", "jsonl",
		fmt.Sprintf("LET F <= SELECT OSPath FROM foreach(row={%s}) SELECT * FROM azure_log_executions(filenames=F.OSPath)", files))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	total := strings.Count(all, "\n")
	if total < 20 {
		t.Fatalf("only %d executions over the fixtures", total)
	}
	lit := func(s string) string { return "'" + s + "'" }
	for _, f := range []struct{ after, before, re string }{
		{after: "2025-03-14T00:00:00Z", before: "2025-04-02T08:47:33Z"},
		{after: "2024-01-01T00:00:00Z"},
		{before: "2023-01-01T00:00:00Z"},
		// Inclusive ends: an execution started exactly at after/before is kept.
		{after: "2025-03-14T09:12:03.291006Z", before: "2025-03-14T09:12:03.291006Z"},
		{after: "2025-04-02T09:14:05Z", before: "2025-04-02T10:22:47Z"},
		{re: "RunCommand|CustomScript"},
		{re: "runcommand"},
		{after: "2025-03-14T00:00:00Z", re: "CustomScript"},
		// A bound at or before the epoch is false to VQL: no limit.
		{before: "1969-12-31T00:00:00Z"},
		{after: "1970-01-01T00:00:00Z", before: "1965-01-01T00:00:00Z"},
	} {
		inPlugin := fmt.Sprintf("LET F <= SELECT OSPath FROM foreach(row={%s}) "+
			"SELECT * FROM azure_log_executions(filenames=F.OSPath, after=%s, before=%s, handler_regex=%s)",
			files, lit(f.after), lit(f.before), lit(f.re))
		inVQL := fmt.Sprintf("LET F <= SELECT OSPath FROM foreach(row={%[1]s}) "+
			"LET A <= if(condition=%[2]s, then=timestamp(epoch=%[2]s)) "+
			"LET B <= if(condition=%[3]s, then=timestamp(epoch=%[3]s)) "+
			"SELECT * FROM azure_log_executions(filenames=F.OSPath) "+
			"WHERE ( NOT %[4]s OR Handler =~ %[4]s ) "+
			"AND NOT ( A AND ( Started || LastSeen ) AND ( Started || LastSeen ) < A ) "+
			"AND NOT ( B AND ( Started || LastSeen ) AND ( Started || LastSeen ) > B )",
			files, lit(f.after), lit(f.before), lit(f.re))
		got, stderr1, err1 := run(t, "query", "--format", "jsonl", inPlugin)
		want, stderr2, err2 := run(t, "query", "--format", "jsonl", inVQL)
		if err1 != nil || err2 != nil {
			t.Fatalf("%+v: %v %v\n%s\n%s", f, err1, err2, stderr1, stderr2)
		}
		if got != want {
			t.Errorf("%+v: plugin filter kept %d executions, VQL %d\nplugin:\n%s\nVQL:\n%s",
				f, strings.Count(got, "\n"), strings.Count(want, "\n"), got, want)
		}
		t.Logf("%+v: %d of %d executions", f, strings.Count(got, "\n"), total)
	}
	if _, stderr, err := run(t, "query", "--format", "jsonl",
		"SELECT * FROM azure_log_executions(filenames='/nonexistent/waagent.log', after='yesterday')"); err == nil ||
		!strings.Contains(stderr, "azure_log_executions") {
		t.Errorf("after='yesterday': err=%v stderr=%q", err, stderr)
	}
}
