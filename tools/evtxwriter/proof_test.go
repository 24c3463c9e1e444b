package evtxwriter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
