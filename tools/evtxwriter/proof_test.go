package evtxwriter

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/Velocidex/yaml/v2"
	"www.velocidex.com/golang/evtx"
)

var samples = filepath.Join("..", "..", "tests", "fixtures", "evtx", "samples")

// parse reads a file as Velociraptor's parse_evtx does: every chunk
// GetChunks finds, each record's Event.
func parse(t *testing.T, data []byte) []*ordereddict.Dict {
	t.Helper()
	chunks, err := evtx.GetChunks(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ordereddict.Dict
	for _, c := range chunks {
		records, _ := c.Parse(0)
		for _, r := range records {
			m, ok := r.Event.(*ordereddict.Dict)
			if !ok {
				continue
			}
			if ev, ok := ordereddict.GetMap(m, "Event"); ok {
				out = append(out, ev)
			}
		}
	}
	return out
}

func write(t *testing.T, records []Record) []byte {
	t.Helper()
	w := New()
	for _, r := range records {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jsonOf(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// (c) Every record of every real sample, re-written by the writer, is
// read back by the Velocidex parser as the same event.
func TestRewriteRealSamples(t *testing.T) {
	var files []string
	filepath.Walk(samples, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 19 {
		t.Fatalf("expected the 19 samples under %s, found %d", samples, len(files))
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events := parse(t, data)
		var records []Record
		for i, ev := range events {
			r, err := FromParsed(ev)
			if err != nil {
				t.Fatalf("%s: event %d: %v", f, i, err)
			}
			records = append(records, r)
		}
		again := parse(t, write(t, records))
		if len(again) != len(events) {
			t.Errorf("%s: %d events re-read from %d", f, len(again), len(events))
			continue
		}
		for i := range events {
			if a, b := jsonOf(t, events[i]), jsonOf(t, again[i]); a != b {
				t.Errorf("%s: event %d differs:\n orig: %s\n  new: %s", f, i, a, b)
				break
			}
		}
		total += len(events)
	}
	if total < 1800 {
		t.Errorf("only %d events re-written", total)
	}
	t.Logf("%d events of %d files re-written identically", total, len(files))
}

func loadEvents(t *testing.T) []Event {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "events.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Events []Event `yaml:"events"`
	}
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Events
}

// proofFile is the events of testdata/events.yaml followed by 400 script
// blocks, enough for several chunks (templates and names are defined
// again in each).
func proofFile(t *testing.T) ([]Event, []byte) {
	t.Helper()
	events := loadEvents(t)
	block := events[1]
	for i := 0; i < 400; i++ {
		e := block
		e.RecordID = uint64(104 + i)
		e.Data = append([]Data(nil), block.Data...)
		e.Data[2] = Data{Name: "ScriptBlockText", Value: fmt.Sprintf("# block %d\r\n%s", i, strings.Repeat("Get-Process | Out-Null; ", 20))}
		events = append(events, e)
	}
	var records []Record
	for _, e := range events {
		r, err := e.Record()
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, r)
	}
	return events, write(t, records)
}

// (a) The Velocidex parser reads the writer's events back with their
// values and types, across chunks.
func TestWriterVelocidex(t *testing.T) {
	events, data := proofFile(t)
	got := parse(t, data)
	if len(got) != len(events) {
		t.Fatalf("%d events read, %d written", len(got), len(events))
	}
	if chunks := (len(data) - 0x1000) / 0x10000; chunks < 3 {
		t.Errorf("want several chunks, got %d", chunks)
	}
	want := []string{
		`{"System":{"Provider":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"54849625-5478-4994-A5BA-3E3B0328C30D"},"EventID":{"Value":4688},"Version":2,"Level":0,"Task":13312,"Opcode":0,"Keywords":9232379236109516800,"TimeCreated":{"SystemTime":1741943525.123456},"EventRecordID":100,"Correlation":{},"Execution":{"ProcessID":4,"ThreadID":116},"Channel":"Security","Computer":"vm-win-01","Security":{}},` +
			`"EventData":{"SubjectUserSid":"S-1-5-18","SubjectUserName":"VM-WIN-01$","SubjectDomainName":"WORKGROUP","SubjectLogonId":999,"NewProcessId":6700,"NewProcessName":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","TokenElevationType":"%%1936","ProcessId":8000,"CommandLine":"powershell -ExecutionPolicy Unrestricted -File script0.ps1","TargetUserSid":"S-1-0-0","TargetUserName":"-","TargetDomainName":"-","TargetLogonId":0,"ParentProcessName":"C:\\Packages\\Plugins\\Microsoft.CPlat.Core.RunCommandWindows\\1.1.22\\bin\\RunCommandExtension.exe","MandatoryLabel":"S-1-16-16384"}}`,
		`{"System":{"Provider":{"Name":"Microsoft-Windows-PowerShell","Guid":"A0C1853B-5C40-4B15-8766-3CF1C58F985A"},"EventID":{"Value":4104},"Version":1,"Level":5,"Task":2,"Opcode":15,"Keywords":0,"TimeCreated":{"SystemTime":1741943526.5},"EventRecordID":101,"Correlation":{"ActivityID":"3F0C7A49-E4FD-0001-0094-0940FDE4D701"},"Execution":{"ProcessID":6700,"ThreadID":5120},"Channel":"Microsoft-Windows-PowerShell/Operational","Computer":"vm-win-01","Security":{"UserID":"S-1-5-18"}},` +
			`"EventData":{"MessageNumber":1,"MessageTotal":1,"ScriptBlockText":"Write-Output 'hello \u003cworld\u003e \u0026 \"quoted\"'\r\nGet-Date","ScriptBlockId":"9d2d8f2a-51e4-4d4b-a1f5-2a0a9d7c3c11","Path":"C:\\Packages\\Plugins\\Microsoft.CPlat.Core.RunCommandWindows\\1.1.22\\Downloads\\script0.ps1"}}`,
		`{"System":{"Provider":{"Name":"PowerShell"},"EventID":{"Qualifiers":0,"Value":400},"Version":0,"Level":4,"Task":4,"Opcode":0,"Keywords":36028797018963968,"TimeCreated":{"SystemTime":1741943526},"EventRecordID":102,"Correlation":{},"Execution":{"ProcessID":0,"ThreadID":0},"Channel":"Windows PowerShell","Computer":"vm-win-01","Security":{}},` +
			`"EventData":{"Data":["Available","None","\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tHostApplication=powershell -ExecutionPolicy Unrestricted -File script0.ps1"]}}`,
		`{"System":{"Provider":{"Name":"Microsoft-WindowsAzure-Status","Guid":"6A4B4B7E-2BA1-4A5F-9C1E-0E6F3B0D3A55"},"EventID":{"Value":7},"Version":0,"Level":4,"Task":0,"Opcode":0,"Keywords":9223372036854775808,"TimeCreated":{"SystemTime":1741943518.25},"EventRecordID":103,"Correlation":{},"Execution":{"ProcessID":2212,"ThreadID":3104},"Channel":"Microsoft-WindowsAzure-Status/Plugins","Computer":"vm-win-01","Security":{}},` +
			`"EventData":{"HandlerName":"Microsoft.CPlat.Core.RunCommandWindows","Version":"1.1.22","Operation":"Enable","Enabled":true,"Count":3,"Started":1741943517.1}}`,
	}
	for i, w := range want {
		if g := jsonOf(t, got[i]); g != w {
			t.Errorf("event %d:\n got: %s\nwant: %s", i, g, w)
		}
	}
	for i, e := range events {
		id, _ := ordereddict.GetInt(got[i], "System.EventRecordID")
		text, _ := ordereddict.GetString(got[i], "EventData.ScriptBlockText")
		if uint64(id) != e.RecordID {
			t.Errorf("event %d: record id %d, want %d", i, id, e.RecordID)
		}
		if e.EventID == 4104 && text != fmt.Sprint(e.Data[2].Value) {
			t.Errorf("event %d: script block %q", i, text)
		}
	}
}

// pythonEvtx finds a Python with python-evtx (Debian's python3-evtx
// installs it for /usr/bin/python3).
func pythonEvtx() string {
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import Evtx.Evtx").Run() == nil {
			return py
		}
	}
	return ""
}

type pyDump struct {
	HeaderOK bool `json:"header_ok"`
	Chunks   []struct {
		OK bool `json:"ok"`
	} `json:"chunks"`
	Records []struct {
		ID   uint64 `json:"id"`
		OK   bool   `json:"ok"`
		Time string `json:"time"`
		XML  string `json:"xml"`
	} `json:"records"`
}

// xnode is any XML element as python-evtx renders it.
type xnode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []xnode    `xml:",any"`
}

func (n xnode) kid(name string) *xnode {
	for i := range n.Kids {
		if n.Kids[i].XMLName.Local == name {
			return &n.Kids[i]
		}
	}
	return nil
}

func (n xnode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// sameValue compares a value as python-evtx renders it (text) with the
// Velocidex parser's (typed): numbers may be hex, GUIDs braced and lower
// case, FILETIMEs a date to the microsecond.
func sameValue(py string, v interface{}) bool {
	switch t := v.(type) {
	case string:
		// XML parsing turns CR LF into LF (XML 1.0 2.11).
		if py == strings.ReplaceAll(t, "\r\n", "\n") {
			return true
		}
		return strings.EqualFold(strings.Trim(py, "{}"), t) // GUID
	case bool:
		return strings.EqualFold(py, fmt.Sprint(t))
	case float64:
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
			if tm, err := time.Parse(layout, py); err == nil {
				return math.Abs(float64(tm.UnixNano())/1e9-t) < 2e-6
			}
		}
		return false
	}
	n, err := strconv.ParseUint(py, 0, 64)
	return err == nil && fmt.Sprint(n) == fmt.Sprint(v)
}

var pyStrings = regexp.MustCompile(`(?s)<string>(.*?)</string>`)

// (b) python-evtx, an independent reader, checks the file header, every
// chunk's CRC32s and every record's size copy, and reads the same events
// as the Velocidex parser.
func TestWriterPythonEvtx(t *testing.T) {
	py := pythonEvtx()
	if py == "" {
		t.Skip("python3-evtx is not installed (apt-get install python3-evtx): the second reader's check is skipped")
	}
	events, data := proofFile(t)
	f := filepath.Join(t.TempDir(), "proof.evtx")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("testdata", "pyevtx_dump.py"), f).Output()
	if err != nil {
		t.Fatalf("python-evtx: %v", err)
	}
	var dump pyDump
	if err := json.Unmarshal(out, &dump); err != nil {
		t.Fatal(err)
	}
	if !dump.HeaderOK {
		t.Error("python-evtx: file header check failed")
	}
	if len(dump.Chunks) < 3 {
		t.Errorf("python-evtx: %d chunks", len(dump.Chunks))
	}
	for i, c := range dump.Chunks {
		if !c.OK {
			t.Errorf("python-evtx: chunk %d check (magic, CRC32s) failed", i)
		}
	}
	vel := parse(t, data)
	if len(dump.Records) != len(events) || len(vel) != len(events) {
		t.Fatalf("python-evtx read %d records, Velocidex %d, written %d", len(dump.Records), len(vel), len(events))
	}
	for i, r := range dump.Records {
		var ev xnode
		if err := xml.Unmarshal([]byte(r.XML), &ev); err != nil {
			t.Fatalf("record %d: %v", r.ID, err)
		}
		sys := ev.kid("System")
		if !r.OK || sys == nil || r.ID != events[i].RecordID {
			t.Fatalf("record %d: bad record (ok=%v id=%d)", i, r.OK, r.ID)
		}
		v := vel[i]
		check := func(what, pyv string, key string) {
			x, _ := ordereddict.GetAny(v, key)
			if !sameValue(pyv, x) {
				t.Errorf("record %d %s: python-evtx %q, Velocidex %v", r.ID, what, pyv, x)
			}
		}
		check("Provider", sys.kid("Provider").attr("Name"), "System.Provider.Name")
		check("EventID", strings.TrimSpace(sys.kid("EventID").Text), "System.EventID.Value")
		check("Level", sys.kid("Level").Text, "System.Level")
		check("Task", sys.kid("Task").Text, "System.Task")
		check("Keywords", sys.kid("Keywords").Text, "System.Keywords")
		check("EventRecordID", sys.kid("EventRecordID").Text, "System.EventRecordID")
		check("TimeCreated", sys.kid("TimeCreated").attr("SystemTime"), "System.TimeCreated.SystemTime")
		check("ProcessID", sys.kid("Execution").attr("ProcessID"), "System.Execution.ProcessID")
		check("Channel", sys.kid("Channel").Text, "System.Channel")
		check("Computer", sys.kid("Computer").Text, "System.Computer")
		if g := sys.kid("Provider").attr("Guid"); g != "" {
			check("Provider Guid", g, "System.Provider.Guid")
		}
		if u := sys.kid("Security").attr("UserID"); u != "" {
			check("UserID", u, "System.Security.UserID")
		}
		ed := ev.kid("EventData")
		if ed == nil {
			t.Fatalf("record %d: python-evtx has no EventData", r.ID)
		}
		for j, d := range ed.Kids {
			name := d.attr("Name")
			if d.XMLName.Local == "Binary" && d.Text == "" {
				continue // a null: Velocidex leaves it out
			}
			if name == "" { // a classic provider's strings, rendered <string>s..</string>
				list, _ := ordereddict.GetAny(v, "EventData.Data")
				strs, _ := list.([]string)
				got := pyStrings.FindAllStringSubmatch(d.Text, -1)
				if len(got) != len(strs) || len(strs) == 0 {
					t.Errorf("record %d Data %d: python-evtx %d strings, Velocidex %v", r.ID, j, len(got), list)
					continue
				}
				for k, m := range got {
					if m[1] != strings.ReplaceAll(strs[k], "\r\n", "\n") {
						t.Errorf("record %d Data %d.%d: python-evtx %q, Velocidex %q", r.ID, j, k, m[1], strs[k])
					}
				}
				continue
			}
			x, _ := v.Get("EventData")
			val, _ := x.(*ordereddict.Dict).Get(name)
			if !sameValue(d.Text, val) {
				t.Errorf("record %d %s: python-evtx %q, Velocidex %v", r.ID, name, d.Text, val)
			}
		}
	}
}
