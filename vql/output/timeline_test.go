package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

func timelineRows() []*ordereddict.Dict {
	t1 := time.Date(2025, 6, 10, 14, 41, 40, 210000000, time.UTC)
	return []*ordereddict.Dict{
		ordereddict.NewDict().Set("Time", t1).Set("TimeKind", "Started").Set("Source", "Executions").
			Set("SeqNo", int64(1)).Set("Summary", "Run Command seq 1 started `net user x /add` as SYSTEM, success").
			Set("Detail", ordereddict.NewDict().Set("ExitCode", nil).Set("Files", []interface{}{"a"})).
			Set("OSPath", `C:\Packages\Plugins\X\1.1.22\RuntimeSettings\1.settings`).Set("TimeConflict", nil),
		ordereddict.NewDict().Set("Time", t1.Add(-time.Second)).Set("TimeKind", "Modified").Set("Source", "SettingsFile").
			Set("Summary", "settings | written").Set("OSPath", "/var/lib/waagent/a|b.settings"),
		// no time: Timesketch cannot take it
		ordereddict.NewDict().Set("Time", nil).Set("TimeKind", nil).Set("Source", "Executions").Set("Summary", "ran at an unknown time"),
		// a plugin's file row: Mtime, Size
		ordereddict.NewDict().Set("OSPath", "/var/lib/waagent/x/config/0.settings").Set("Size", int64(338)).
			Set("Mtime", time.Date(2025, 3, 14, 9, 12, 3, 997702000, time.UTC)),
	}
}

func writeAll(t *testing.T, format string) (string, []string) {
	t.Helper()
	var buf bytes.Buffer
	var warns []string
	w, err := NewWriterWithOptions(format, &buf, Options{Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range timelineRows() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), warns
}

// Timesketch's JSONL import requires message, datetime (ISO 8601) and
// timestamp_desc on every line; other keys become event attributes.
func TestTimesketchRequiredFields(t *testing.T) {
	out, warns := writeAll(t, "timesketch")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the 2 rows with a Time, got %d lines:\n%s", len(lines), out)
	}
	wantDesc := []string{"Started", "Modified"}
	for i, l := range lines {
		var ev map[string]interface{}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d not JSON: %v", i, err)
		}
		msg, _ := ev["message"].(string)
		dt, _ := ev["datetime"].(string)
		desc, _ := ev["timestamp_desc"].(string)
		if msg == "" || desc != wantDesc[i] {
			t.Errorf("line %d: message %q timestamp_desc %q", i, msg, desc)
		}
		pt, err := time.Parse(time.RFC3339Nano, dt)
		if err != nil {
			t.Errorf("line %d: datetime %q is not ISO 8601: %v", i, dt, err)
		}
		if ts, _ := ev["timestamp"].(float64); int64(ts) != pt.UnixMicro() {
			t.Errorf("line %d: timestamp %v != datetime %v in microseconds", i, ev["timestamp"], dt)
		}
		for _, k := range []string{"Time", "TimeKind", "Summary"} {
			if _, ok := ev[k]; ok {
				t.Errorf("line %d repeats %s (it is message/datetime/timestamp_desc)", i, k)
			}
		}
	}
	var first map[string]interface{}
	json.Unmarshal([]byte(lines[0]), &first)
	if first["datetime"] != "2025-06-10T14:41:40.21Z" || first["Source"] != "Executions" || first["SeqNo"] != float64(1) {
		t.Errorf("first event: %v", first)
	}
	if d, ok := first["Detail"].(string); !ok || !strings.Contains(d, `"Files":["a"]`) {
		t.Errorf("Detail should be flattened to JSON text, got %#v", first["Detail"])
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "2 row(s) without a Time") {
		t.Errorf("warnings: %q", warns)
	}
}

func TestBodyfile(t *testing.T) {
	out, warns := writeAll(t, "bodyfile")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the Modified row and the Mtime row, got:\n%s", out)
	}
	for _, l := range lines {
		f := strings.Split(l, "|")
		if len(f) != 11 {
			t.Fatalf("%q: %d fields, want 11", l, len(f))
		}
		for _, ts := range f[7:] {
			if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
				t.Errorf("%q: time %q", l, ts)
			}
		}
	}
	if !strings.HasPrefix(lines[0], "0|/var/lib/waagent/a%7Cb.settings (settings %7C written)|0|0|0|0|0|0|1749566499|0|0") {
		t.Errorf("line 0: %q", lines[0])
	}
	if lines[1] != "0|/var/lib/waagent/x/config/0.settings|0|0|0|0|338|0|1741943523|0|0" {
		t.Errorf("line 1: %q", lines[1])
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "2 row(s) without a file time") {
		t.Errorf("warnings: %q", warns)
	}

	// Sleuth Kit's own reader (Debian package sleuthkit; .ci/run installs it).
	mactime, err := exec.LookPath("mactime")
	if err != nil {
		t.Skip("SKIP mactime check: mactime (Debian package sleuthkit) is not installed")
	}
	body := filepath.Join(t.TempDir(), "t.body")
	os.WriteFile(body, []byte(out), 0o644)
	cmd := exec.Command(mactime, "-b", body, "-z", "UTC", "-d", "-y")
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("mactime: %v", err)
	}
	want := map[string]bool{
		// mactime decodes the percent-encoded '|' back
		`2025-06-10T14:41:39Z,0,m...,0,0,0,0,"/var/lib/waagent/a|b.settings (settings | written)"`: false,
		`2025-03-14T09:12:03Z,338,m...,0,0,0,0,"/var/lib/waagent/x/config/0.settings"`:             false,
	}
	sc := bufio.NewScanner(bytes.NewReader(res))
	for sc.Scan() {
		if _, ok := want[sc.Text()]; ok {
			want[sc.Text()] = true
		}
	}
	for l, seen := range want {
		if !seen {
			t.Errorf("mactime did not print %s; it printed:\n%s", l, res)
		}
	}
}
