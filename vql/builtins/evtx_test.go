package builtins_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/tools/evtxwriter"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/evtx"
	"www.velocidex.com/golang/vfilter"
)

// evtxSamples is the copy of the public samples (tests/fixtures/README.md).
var evtxSamples = filepath.Join("..", "..", "tests", "fixtures", "evtx", "samples")

func evtxSample(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(evtxSamples, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// libraryEvents is what Velociraptor v0.75.2's parse_evtx emits on a
// non-Windows host: every chunk GetChunks finds, parsed by the library,
// each record's Event with Message "" (no message resolver there).
func libraryEvents(t *testing.T, path string) []vfilter.Row {
	t.Helper()
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	chunks, err := evtx.GetChunks(fd)
	if err != nil {
		t.Fatal(err)
	}
	var rows []vfilter.Row
	for _, c := range chunks {
		records, _ := c.Parse(0)
		for _, r := range records {
			m, ok := r.Event.(*ordereddict.Dict)
			if !ok {
				continue
			}
			ev, ok := ordereddict.GetMap(m, "Event")
			if !ok {
				continue
			}
			ev.Set("Message", "")
			rows = append(rows, ev)
		}
	}
	return rows
}

func allEvtxSamples(t *testing.T) []string {
	t.Helper()
	var files []string
	filepath.Walk(evtxSamples, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 19 {
		t.Fatalf("expected the 19 samples under %s, found %d", evtxSamples, len(files))
	}
	return files
}

// Every real sample gives exactly the rows Velociraptor's parse_evtx
// gives (same library, same chunk order), damaged ones included: the
// host's walker only adds log lines.
func TestParseEvtxSameRowsAsVelociraptor(t *testing.T) {
	for _, f := range allEvtxSamples(t) {
		scope := newScope(t, "", nil)
		scope.AppendVars(ordereddict.NewDict().Set("F", f))
		got := run(t, scope, "SELECT * FROM parse_evtx(filename=F)")
		want := libraryEvents(t, f)
		if len(got) == 0 {
			t.Errorf("%s: no events", f)
		}
		g, _ := output.MarshalJSON(got)
		w, _ := output.MarshalJSON(want)
		if string(g) != string(w) {
			t.Errorf("%s: rows differ from the library's (%d vs %d rows)", f, len(got), len(want))
		}
	}
}

func TestParseEvtxColumns(t *testing.T) {
	scope := newScope(t, "", nil)
	scope.AppendVars(ordereddict.NewDict().Set("F", evtxSample(t, "michkoll_fakenevtx/Security_Single4688.evtx")))
	rows := run(t, scope, `SELECT * FROM parse_evtx(filename=F)`)
	if len(rows) != 1 {
		t.Fatalf("want 1 row, got %d", len(rows))
	}
	row := rows[0].(*ordereddict.Dict)
	if got := strings.Join(row.Keys(), ","); got != "System,EventData,Message" {
		t.Errorf("columns %s", got)
	}
	check(t, scope, "", `SELECT System.EventID.Value AS EID, System.Channel AS Channel, System.Computer AS Computer,
	    System.EventRecordID AS RecordID, timestamp(epoch=System.TimeCreated.SystemTime) AS Time,
	    EventData.NewProcessName AS NewProcessName, EventData.ParentProcessName AS Parent,
	    EventData.NewProcessId AS Pid, EventData.CommandLine AS CommandLine, Message
	  FROM parse_evtx(filename=F)`,
		`[{"EID":4688,"Channel":"Security","Computer":"DESKTOP-MJBFK33","RecordID":18003,"Time":"2020-09-26T08:01:28.927716732Z",`+
			`"NewProcessName":"C:\\Users\\Jon\\Desktop\\Tor Browser\\Browser\\TorBrowser\\Tor\\tor.exe",`+
			`"Parent":"C:\\Users\\Jon\\Desktop\\Tor Browser\\Browser\\firefox.exe","Pid":8988,"CommandLine":"","Message":""}]`)
}

// The damaged real samples: what is read and what the log says.
func TestParseEvtxDamaged(t *testing.T) {
	bad := evtxSample(t, "omerbenamram_evtx/sample_with_a_bad_chunk_magic.evtx")
	noCRC := evtxSample(t, "omerbenamram_evtx/Application_no_crc32.evtx")
	dirty := evtxSample(t, "Velocidex_evtx/Security.evtx")

	cases := []struct {
		name, file string
		query      string
		want       string
		logs       []string
		noLogs     []string
	}{
		{
			name: "bad chunk magic and CRC", file: bad,
			query: `SELECT count() AS N, min(item=System.EventRecordID) AS First, max(item=System.EventRecordID) AS Last FROM parse_evtx(filename=F) GROUP BY 1`,
			want:  `[{"N":270,"First":45691,"Last":47640}]`,
			logs: []string{
				"parse_evtx: " + bad + ": chunk 6 at offset 0x61000 skipped: bad chunk magic",
				"parse_evtx: " + bad + ": chunk 10 at offset 0xa1000 skipped: bad chunk magic",
				"parse_evtx: " + bad + ": chunk 0 at offset 0x1000: event records CRC32 mismatch; its records are read anyway",
				"parse_evtx: " + bad + ": chunk 0 at offset 0x1000: record chain breaks after 14 of 130 records (ids 46728-46857): 116 records skipped",
				"parse_evtx: " + bad + ": log is marked dirty",
			},
			// Unused (all-zero) chunks are not damage.
			noLogs: []string{"chunk 1 at", "chunk 15 at"},
		},
		{
			name: "no CRC32 flag", file: noCRC,
			query:  `SELECT count() AS N FROM parse_evtx(filename=F) GROUP BY 1`,
			want:   `[{"N":17}]`,
			noLogs: []string{"CRC32"},
		},
		{
			name: "dirty", file: dirty,
			query: `SELECT count() AS N FROM parse_evtx(filename=F) GROUP BY 1`,
			want:  `[{"N":739}]`,
			logs:  []string{"parse_evtx: " + dirty + ": log is marked dirty (not closed cleanly)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &logBuf{}
			scope := newScope(t, "", logs)
			scope.AppendVars(ordereddict.NewDict().Set("F", c.file))
			check(t, scope, "", c.query, c.want)
			for _, l := range c.logs {
				if !strings.Contains(logs.String(), l) {
					t.Errorf("log lacks %q:\n%s", l, logs.String())
				}
			}
			for _, l := range c.noLogs {
				if strings.Contains(logs.String(), l) {
					t.Errorf("log has %q:\n%s", l, logs.String())
				}
			}
		})
	}
}

// A real log cut short: the complete records before the cut are read,
// the rest is reported.
func TestParseEvtxTruncated(t *testing.T) {
	data, err := os.ReadFile(evtxSample(t, "Velocidex_evtx/Security.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cuts := []struct {
		size int
		want string
		log  string
	}{
		// Inside chunk 1's records: chunk 0 (78 records, ids 31878-31955) and 32 of chunk 1's 76.
		{100000, `[{"N":110,"Last":31987}]`, "file is truncated at 100000 bytes: chunk 1 at offset 0x11000 lost 44 of its 76 records (ids 31956-32031)"},
		// Inside chunk 1's header.
		{70000, `[{"N":78,"Last":31955}]`, "file is truncated at 70000 bytes: chunk 1 at offset 0x11000 has only 368 of its 512 header bytes; skipped"},
		// Inside the file header: nothing to read.
		{100, `[]`, "Unable to parse file " + filepath.Join(dir, "cut-100.evtx") + ": file header is truncated (100 bytes)"},
	}
	for _, c := range cuts {
		f := filepath.Join(dir, "cut-"+strconv.Itoa(c.size)+".evtx")
		if err := os.WriteFile(f, data[:c.size], 0o644); err != nil {
			t.Fatal(err)
		}
		logs := &logBuf{}
		scope := newScope(t, "", logs)
		scope.AppendVars(ordereddict.NewDict().Set("F", f))
		check(t, scope, "", `SELECT count() AS N, max(item=System.EventRecordID) AS Last FROM parse_evtx(filename=F) GROUP BY 1`, c.want)
		if !strings.Contains(logs.String(), c.log) {
			t.Errorf("cut at %d: log lacks %q:\n%s", c.size, c.log, logs.String())
		}
	}
}

func TestParseEvtxNotEvtx(t *testing.T) {
	dir := fixture(t)
	logs := &logBuf{}
	scope := newScope(t, dir, logs)
	check(t, scope, dir, `SELECT * FROM parse_evtx(filename=[D + '/a.txt', D + '/missing.evtx'])`, `[]`)
	for _, l := range []string{
		"Unable to parse file " + dir + "/a.txt: File is not an EVTX file (wrong magic).",
		"Unable to open file " + dir + "/missing.evtx",
	} {
		if !strings.Contains(logs.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, logs.String())
		}
	}
}

// messagedb needs an SQLite driver the vql host does not link: a clear
// log line and no rows, never rows without their messages.
func TestParseEvtxMessageDBUnavailable(t *testing.T) {
	logs := &logBuf{}
	scope := newScope(t, "", logs)
	scope.AppendVars(ordereddict.NewDict().Set("F", evtxSample(t, "michkoll_fakenevtx/Security_Single4688.evtx")))
	check(t, scope, "", `SELECT * FROM parse_evtx(filename=F, messagedb='/nonexistent/messages.db')`, `[]`)
	if !strings.Contains(logs.String(), "parse_evtx: messagedb /nonexistent/messages.db: ") {
		t.Errorf("log: %s", logs.String())
	}
}

// A log left dirty by a crash: the chunk header lags the records written
// after it. The records that continue the chain are read and reported;
// the library alone (Velociraptor) stops at the header's count.
func TestParseEvtxDirtyStaleChunkHeader(t *testing.T) {
	w := evtxwriter.New()
	for i := 1; i <= 10; i++ {
		e := evtxwriter.Event{Channel: "Windows PowerShell", Provider: "PowerShell", Qualifiers: new(int), EventID: 400,
			Level: 4, Task: 4, Keywords: "0x80000000000000", RecordID: uint64(i), Computer: "vm",
			Time: time.Date(2025, 3, 14, 9, 0, i, 0, time.UTC).Format(time.RFC3339Nano),
			Data: []evtxwriter.Data{{Value: "Available"}, {Value: "None"}, {Value: fmt.Sprintf("\tSequenceNumber=%d", i)}}}
		r, err := e.Record()
		if err == nil {
			err = w.Add(r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	data[120] |= 1                                     // dirty (the file header CRC does not cover the flags)
	binary.LittleEndian.PutUint64(data[0x1000+16:], 7) // last record number
	binary.LittleEndian.PutUint64(data[0x1000+32:], 7) // last record id
	f := filepath.Join(t.TempDir(), "dirty.evtx")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if n := len(libraryEvents(t, f)); n != 7 {
		t.Fatalf("the library alone reads %d records, want 7 (the stale header's count)", n)
	}
	logs := &logBuf{}
	scope := newScope(t, "", logs)
	scope.AppendVars(ordereddict.NewDict().Set("F", f))
	check(t, scope, "", `SELECT count() AS N, max(item=System.EventRecordID) AS Last FROM parse_evtx(filename=F) GROUP BY 1`, `[{"N":10,"Last":10}]`)
	for _, l := range []string{
		"parse_evtx: " + f + ": log is marked dirty",
		"parse_evtx: " + f + ": chunk 0 at offset 0x1000: 3 records past the chunk header's last one recovered (ids 8-10): the log was not closed cleanly",
	} {
		if !strings.Contains(logs.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, logs.String())
		}
	}
}
