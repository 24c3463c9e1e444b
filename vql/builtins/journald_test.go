package builtins_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/azvql/azvql/vql/builtins"
)

// journalFixtures are the journal files of tests/fixtures/journal
// (tools/fixtures/build_journal.py: written by systemd-journal-remote).
func journalFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../tests/fixtures/journal/var/log/journal/*/*")
	if err != nil || len(files) != 3 {
		t.Fatalf("journal fixtures: %v %v", files, err)
	}
	sort.Strings(files)
	return files
}

func readJournalFile(t *testing.T, path string) ([]*builtins.JournalEntry, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []*builtins.JournalEntry
	var issues []string
	err = builtins.ReadJournal(bytes.NewReader(data), int64(len(data)), func(s string) { issues = append(issues, s) },
		func(e *builtins.JournalEntry) bool { entries = append(entries, e); return true })
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return entries, issues
}

// TestJournalSameAsJournalctl: every entry of the fixtures, read by
// systemd's own journalctl (-o json), has the fields, values and times
// the reader gives: online, archived and corrupt files, compact mode,
// ZSTD-compressed fields. Skipped when journalctl is not installed.
func TestJournalSameAsJournalctl(t *testing.T) {
	jc, err := exec.LookPath("journalctl")
	if err != nil {
		t.Skip("SKIP: no journalctl (Debian package systemd) to compare with")
	}
	for _, f := range journalFixtures(t) {
		out, err := exec.Command(jc, "--file", f, "-q", "-o", "json", "--all").Output()
		if err != nil {
			t.Fatalf("journalctl %s: %v", f, err)
		}
		var want []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var m map[string]interface{}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			var fields []string
			for k, v := range m {
				if !strings.HasPrefix(k, "__") {
					fields = append(fields, fmt.Sprintf("%s=%v", k, v))
				}
			}
			sort.Strings(fields)
			want = append(want, m["__REALTIME_TIMESTAMP"].(string)+" "+strings.Join(fields, "|"))
		}
		entries, _ := readJournalFile(t, f)
		var got []string
		for _, e := range entries {
			var fields []string
			for _, it := range e.Items {
				fields = append(fields, string(it))
			}
			sort.Strings(fields)
			got = append(got, fmt.Sprintf("%d %s", e.Realtime, strings.Join(fields, "|")))
		}
		// journalctl orders by time across the file; the reader by file order.
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got %d entries\n%s\nwant %d (journalctl)\n%s", f, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
	}
}

// TestJournalStates: what the reader says of each fixture, and the
// entries it keeps.
func TestJournalStates(t *testing.T) {
	files := journalFixtures(t)
	want := []struct {
		entries int
		issue   string
	}{
		{7, "the file is online"},   // system.journal
		{9, ""},                     // system@...journal (archived)
		{8, "bad object header at"}, // system@...journal~ (second entry broken)
	}
	for i, f := range files {
		entries, issues := readJournalFile(t, f)
		if len(entries) != want[i].entries {
			t.Errorf("%s: %d entries, want %d", f, len(entries), want[i].entries)
		}
		joined := strings.Join(issues, "; ")
		if (want[i].issue == "") != (joined == "") || !strings.Contains(joined, want[i].issue) {
			t.Errorf("%s: issues %q, want %q", f, joined, want[i].issue)
		}
	}
	// the long Executing command line is ZSTD-compressed in the file
	entries, _ := readJournalFile(t, files[1])
	found := false
	for _, e := range entries {
		for _, it := range e.Items {
			if bytes.Contains(it, []byte("Executing command:")) && bytes.HasSuffix(it, []byte(`"enable"}`)) {
				found = true
			}
		}
	}
	if !found {
		t.Error("the compressed Executing command line was not read whole")
	}
}

func TestJournalTruncatedAndNotJournal(t *testing.T) {
	f := journalFixtures(t)[1]
	data, _ := os.ReadFile(f)
	var issues []string
	n := 0
	// cut inside the arena: entries before the cut are read
	cut := data[:len(data)/2]
	for len(cut) > 0 && bytes.Count(cut[len(cut)-4096:], []byte{0}) == 4096 {
		cut = cut[:len(cut)-4096]
	}
	cut = cut[:len(cut)-200]
	err := builtins.ReadJournal(bytes.NewReader(cut), int64(len(cut)), func(s string) { issues = append(issues, s) },
		func(*builtins.JournalEntry) bool { n++; return true })
	if err != nil || n == 0 || !strings.Contains(strings.Join(issues, ";"), "truncated") {
		t.Errorf("truncated: err %v, %d entries, issues %v", err, n, issues)
	}
	if err := builtins.ReadJournal(bytes.NewReader([]byte("not a journal at all, but long enough to hold a header of a journal file; really not one at all............")), 120, nil,
		func(*builtins.JournalEntry) bool { return true }); err == nil || !strings.Contains(err.Error(), "not a journal file") {
		t.Errorf("not a journal: %v", err)
	}
}

func TestParseJournaldRows(t *testing.T) {
	f, _ := filepath.Abs(journalFixtures(t)[0])
	scope := newScope(t, "", nil)
	rows := run(t, scope, fmt.Sprintf(`SELECT * FROM parse_journald(filename=%q) LIMIT 2`, f))
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	got := js(t, rows[1:], "")
	for _, want := range []string{`"System":{"Seq":2,"Timestamp":"2025-06-10T14:02:11.402188Z"`, `"_PID":1088`, `"_UID":0`,
		`"EventData":{`, `"PRIORITY":6`, `"SYSLOG_FACILITY":3`, `"SYSLOG_IDENTIFIER":"python3"`} {
		if !strings.Contains(got, want) {
			t.Errorf("row lacks %s:\n%s", want, got)
		}
	}
	raw := js(t, run(t, scope, fmt.Sprintf(`SELECT * FROM parse_journald(filename=%q, raw=TRUE) LIMIT 1`, f)), "")
	if !strings.Contains(raw, `"Timestamp":"2025-06-10T13:58:40Z"`) || !strings.Contains(raw, `"_PID":"790"`) {
		t.Errorf("raw row: %s", raw)
	}
	n := len(run(t, scope, fmt.Sprintf(`SELECT * FROM parse_journald(filename=%q, start_time=%q, end_time=%q)`,
		f, "2025-06-10T14:02:11.5Z", "2025-06-10T14:02:13.31Z")))
	if n != 3 {
		t.Errorf("start_time/end_time: %d rows, want 3 (14:02:11.60, .604, .606)", n)
	}
}

// tinyJournal is a small journal file: header, one data object per
// field (flags: its compression bit, payload as given) and one entry
// listing them; compact selects 4-byte items and the compact data
// layout. The fixtures are megabytes (journal-remote preallocates hash
// tables), too large for the fuzzer to mutate quickly.
func tinyJournal(compact bool, flags uint8, payloads ...[]byte) []byte {
	le := binary.LittleEndian
	const headerSize = 256
	buf := make([]byte, headerSize)
	copy(buf, "LPKSHHRH")
	if compact {
		le.PutUint32(buf[12:], 16)
	}
	var offs []uint64
	for _, p := range payloads {
		start := 16 + 48
		if compact {
			start += 8
		}
		obj := make([]byte, start+len(p))
		obj[0], obj[1] = 1, flags
		le.PutUint64(obj[8:], uint64(len(obj)))
		copy(obj[start:], p)
		offs = append(offs, uint64(len(buf)))
		buf = append(buf, obj...)
		for len(buf)%8 != 0 {
			buf = append(buf, 0)
		}
	}
	step := 16
	if compact {
		step = 4
	}
	entry := make([]byte, 16+48+step*len(offs))
	entry[0] = 3
	le.PutUint64(entry[8:], uint64(len(entry)))
	le.PutUint64(entry[16:], 1)                // seqnum
	le.PutUint64(entry[24:], 1749564014553583) // realtime
	for i, o := range offs {
		if compact {
			le.PutUint32(entry[64+i*4:], uint32(o))
		} else {
			le.PutUint64(entry[64+i*16:], o)
		}
	}
	buf = append(buf, entry...)
	le.PutUint64(buf[88:], headerSize)
	le.PutUint64(buf[96:], uint64(len(buf)-headerSize))
	return buf
}

func TestTinyJournalAndLZ4(t *testing.T) {
	// LZ4 block of "MESSAGE=aaaaaaaaaaaaaaaa": 9 literals then a match
	// at offset 1 of length 15 (token 0x9B: 9 literals, match 11+4).
	block := append([]byte{0x9B}, "MESSAGE=a"...)
	block = append(block, 1, 0)
	lz := make([]byte, 8)
	binary.LittleEndian.PutUint64(lz, 24)
	lz = append(lz, block...)
	for _, compact := range []bool{false, true} {
		data := tinyJournal(compact, 0, []byte("_PID=1"), []byte("MESSAGE=hi"))
		var got []string
		if err := builtins.ReadJournal(bytes.NewReader(data), int64(len(data)), func(s string) { t.Error(s) },
			func(e *builtins.JournalEntry) bool {
				for _, it := range e.Items {
					got = append(got, string(it))
				}
				return true
			}); err != nil || strings.Join(got, ",") != "_PID=1,MESSAGE=hi" {
			t.Errorf("compact=%v: %v %v", compact, got, err)
		}
		data = tinyJournal(compact, 2, lz)
		got = nil
		builtins.ReadJournal(bytes.NewReader(data), int64(len(data)), func(s string) { t.Error(s) },
			func(e *builtins.JournalEntry) bool {
				for _, it := range e.Items {
					got = append(got, string(it))
				}
				return true
			})
		if strings.Join(got, ",") != "MESSAGE=aaaaaaaaaaaaaaaa" {
			t.Errorf("lz4, compact=%v: %q", compact, got)
		}
	}
}

// TestJournalXZ: an XZ field (python3's lzma.compress of
// "MESSAGE=hello xz", 8 MiB dictionary) is decoded; the same with a
// forged 4 GiB dictionary is reported, not allocated.
func TestJournalXZ(t *testing.T) {
	payload := []byte{253, 55, 122, 88, 90, 0, 0, 4, 230, 214, 180, 70, 2, 0, 33, 1, 22, 0, 0, 0, 116, 47, 229, 163, 1, 0, 15,
		77, 69, 83, 83, 65, 71, 69, 61, 104, 101, 108, 108, 111, 32, 120, 122, 0, 138, 218, 130, 240, 234, 143, 122, 224, 0, 1,
		40, 16, 229, 11, 108, 96, 31, 182, 243, 125, 1, 0, 0, 0, 0, 4, 89, 90}
	read := func(p []byte) (string, string) {
		data := tinyJournal(false, 1, p)
		var got, issues []string
		builtins.ReadJournal(bytes.NewReader(data), int64(len(data)), func(s string) { issues = append(issues, s) },
			func(e *builtins.JournalEntry) bool {
				for _, it := range e.Items {
					got = append(got, string(it))
				}
				return true
			})
		return strings.Join(got, ","), strings.Join(issues, ";")
	}
	if got, issues := read(payload); got != "MESSAGE=hello xz" || issues != "" {
		t.Errorf("xz: %q %q", got, issues)
	}
	forged := append([]byte(nil), payload...)
	forged[16] = 40
	if got, issues := read(forged); got != "" || !strings.Contains(issues, "dictionary") {
		t.Errorf("forged xz: %q %q", got, issues)
	}
}

func FuzzJournal(f *testing.F) {
	f.Add(tinyJournal(false, 0, []byte("_PID=1"), []byte("MESSAGE=hi")))
	f.Add(tinyJournal(true, 0, []byte("MESSAGE=x")))
	lz := []byte{24, 0, 0, 0, 0, 0, 0, 0, 0x9B, 'M', 'E', 'S', 'S', 'A', 'G', 'E', '=', 'a', 1, 0}
	f.Add(tinyJournal(true, 2, lz))
	f.Add(tinyJournal(false, 4, []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0x58, 0x11, 0, 0, 'M', '=', 'x'}))
	f.Add(tinyJournal(false, 1, []byte{0xfd, '7', 'z', 'X', 'Z', 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = builtins.ReadJournal(bytes.NewReader(data), int64(len(data)), func(string) {}, func(e *builtins.JournalEntry) bool { return true })
	})
}
