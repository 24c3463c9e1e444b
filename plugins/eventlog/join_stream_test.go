package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/tools/evtxwriter"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
)

// streamLogs is a generated evidence tree: Security over three boots
// (4608) with Run Command v1 trees (the handler's own 4688 logged or
// not, powershell -File script<n>.ps1, grandchildren, exits, ids reused
// across boots and within one), Custom Script trees running full paths,
// unrelated processes between them; Sysmon 1 for some of the same runs;
// PowerShell/Operational 4104 blocks in several parts logged out of
// order and interleaved, one part missing; Windows PowerShell 400/403.
type streamLogs struct {
	dir       string
	rc, cse   *catalog.Handler
	rcExe     string
	cseScript func(run int) string
	start     time.Time
	runs      int
}

func writeStreamLogs(t *testing.T) *streamLogs {
	t.Helper()
	s := &streamLogs{dir: t.TempDir(), start: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC), runs: 24}
	s.rc, s.cse = windowsHandler(t, catalog.KindRunCommand), windowsHandler(t, catalog.KindCustomScript)
	s.rcExe = catalog.WindowsPluginsDir + `\` + s.rc.Name + `\1.1.22\bin\` + s.rc.Processes[0]
	s.cseScript = func(run int) string {
		return fmt.Sprintf(`%s\%s\1.10.18\Downloads\%d\deploy%d.ps1`, catalog.WindowsPluginsDir, s.cse.Name, run%3, run)
	}
	const ps = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	logs := filepath.Join(s.dir, "Windows", "System32", "winevt", "Logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	sec, sysmon, oper, classic := evtxwriter.New(), evtxwriter.New(), evtxwriter.New(), evtxwriter.New()
	var secID, sysID, operID, classicID uint64
	at := func(sec int) string { return s.start.Add(time.Duration(sec) * time.Second).Format(time.RFC3339Nano) }
	add := func(w *evtxwriter.Writer, e evtxwriter.Event) {
		r, err := e.Record()
		if err == nil {
			err = w.Add(r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	secEvent := func(id uint16, tm int, data []evtxwriter.Data) {
		secID++
		add(sec, evtxwriter.Event{Channel: ChanSecurity, Provider: "Microsoft-Windows-Security-Auditing",
			ProviderGUID: "54849625-5478-4994-A5BA-3E3B0328C30D", EventID: id, Version: 2, Task: 13312,
			Keywords: "0x8020000000000000", RecordID: secID, Time: at(tm), ProcessID: 4, ThreadID: 116,
			Computer: "vm-stream-01", Data: data})
	}
	created := func(tm int, pid, ppid int, image, parent, cmd string) {
		secEvent(4688, tm, []evtxwriter.Data{
			{Name: "SubjectUserName", Value: "VM-STREAM-01$"}, {Name: "SubjectDomainName", Value: "WORKGROUP"},
			{Name: "NewProcessId", Type: "hex64", Value: fmt.Sprintf("0x%x", pid)},
			{Name: "NewProcessName", Value: image},
			{Name: "ProcessId", Type: "hex64", Value: fmt.Sprintf("0x%x", ppid)},
			{Name: "CommandLine", Value: cmd}, {Name: "ParentProcessName", Value: parent}})
	}
	exited := func(tm int, pid int, image string) {
		secEvent(4689, tm, []evtxwriter.Data{{Name: "ProcessId", Type: "hex64", Value: fmt.Sprintf("0x%x", pid)},
			{Name: "ProcessName", Value: image}})
	}
	sysCreated := func(tm int, pid, ppid int, image, parent, cmd string) {
		sysID++
		add(sysmon, evtxwriter.Event{Channel: ChanSysmon, Provider: "Microsoft-Windows-Sysmon",
			ProviderGUID: "5770385F-C22A-43E0-BF4C-06F5698FFBD9", EventID: 1, Version: 5, Level: 4, Task: 1,
			Keywords: "0x8000000000000000", RecordID: sysID, Time: at(tm), ProcessID: 3012, ThreadID: 4020,
			Computer: "vm-stream-01", UserID: "S-1-5-18", Data: []evtxwriter.Data{
				{Name: "ProcessId", Type: "uint32", Value: pid}, {Name: "Image", Value: image},
				{Name: "CommandLine", Value: cmd}, {Name: "User", Value: `NT AUTHORITY\SYSTEM`},
				{Name: "ParentProcessId", Type: "uint32", Value: ppid}, {Name: "ParentImage", Value: parent}}})
	}
	block := func(tm int, id string, n, total int, text, path string) {
		operID++
		add(oper, evtxwriter.Event{Channel: ChanPSOper, Provider: "Microsoft-Windows-PowerShell",
			ProviderGUID: "A0C1853B-5C40-4B15-8766-3CF1C58F985A", EventID: 4104, Version: 1, Level: 5, Task: 2, Opcode: 15,
			Keywords: "0x0", RecordID: operID, Time: at(tm), ProcessID: 6700, ThreadID: 5120, Computer: "vm-stream-01",
			UserID: "S-1-5-18", Data: []evtxwriter.Data{
				{Name: "MessageNumber", Type: "int32", Value: n}, {Name: "MessageTotal", Type: "int32", Value: total},
				{Name: "ScriptBlockText", Value: text}, {Name: "ScriptBlockId", Value: id}, {Name: "Path", Value: path}}})
	}
	zero := 0
	engine := func(tm int, id uint16, host string) {
		classicID++
		add(classic, evtxwriter.Event{Channel: ChanPSClassic, Provider: "PowerShell", Qualifiers: &zero, EventID: id,
			Level: 4, Task: 4, Keywords: "0x80000000000000", RecordID: classicID, Time: at(tm), Computer: "vm-stream-01",
			Data: []evtxwriter.Data{{Value: "Available"}, {Value: "None"},
				{Value: "\tNewEngineState=Available\r\n\tHostName=ConsoleHost\r\n\tHostApplication=" + host + "\r\n\tScriptName=\r\n\tCommandLine="}}})
	}

	tm := 0
	for boot := 0; boot < 3; boot++ {
		secEvent(4608, tm, nil)
		tm += 5
		for r := 0; r < s.runs/3; r++ {
			run := boot*(s.runs/3) + r
			created(tm, 900+run, 4, `C:\Windows\System32\svchost.exe`, `C:\Windows\System32\services.exe`, "svchost -k netsvcs")
			// Run Command v1: its own creation logged in even runs; the
			// handler pid is the same in every boot (reused after 4608).
			hpid := 8000 + r*4
			if run%2 == 0 {
				created(tm+1, hpid, 600, s.rcExe, `C:\Windows\System32\services.exe`, s.rc.Processes[0]+" -enable")
			}
			pspid := 5000 + r*8
			cmd := fmt.Sprintf("powershell -ExecutionPolicy Unrestricted -File script%d.ps1", run%4)
			created(tm+2, pspid, hpid, ps, s.rcExe, cmd)
			if run%3 == 0 {
				sysCreated(tm+2, pspid, hpid, ps, s.rcExe, cmd)
			}
			created(tm+3, pspid+4, pspid, `C:\Windows\System32\whoami.exe`, "", "whoami /all")
			if run%2 == 1 {
				// A second root of the same tree (the handler's creation
				// not logged): its own script.
				created(tm+8, pspid+2, hpid, ps, s.rcExe, "powershell -File cleanup.ps1")
			}
			created(tm+4, pspid+6, pspid+4, `C:\Windows\System32\conhost.exe`, "", "conhost 0xffffffff")
			exited(tm+5, pspid+4, `C:\Windows\System32\whoami.exe`)
			// A process taking whoami's id after its exit: not the tree's.
			created(tm+6, pspid+4, 777, `C:\Windows\System32\notepad.exe`, `C:\Windows\explorer.exe`, "notepad")
			created(tm+7, pspid+10, pspid+4, `C:\Windows\System32\cmd.exe`, "", "cmd /c echo not a handler's")
			// Custom Script: a full script path, a grandchild.
			cpid := 12000 + r*8
			script := s.cseScript(run)
			created(tm+20, cpid, 700, ps, `C:\Packages\Plugins\`+s.cse.Name+`\1.10.18\bin\CustomScriptHandler.exe`,
				`powershell -ExecutionPolicy Unrestricted -File "`+script+`"`)
			created(tm+21, cpid+4, cpid, `C:\Windows\System32\net.exe`, ps, "net user admin P@ssw0rd1 /add")
			engine(tm+20, 400, `powershell -ExecutionPolicy Unrestricted -File "`+script+`"`)
			engine(tm+23, 403, `powershell -ExecutionPolicy Unrestricted -File "`+script+`"`)
			// 4104: three parts, logged 2, 1, 3 and interleaved with the
			// next block; every fifth run's block lacks part 3.
			id := fmt.Sprintf("0d3c1f2e-0000-4000-8000-%012d", run)
			id2 := fmt.Sprintf("0d3c1f2e-0000-4000-9000-%012d", run)
			block(tm+21, id, 2, 3, fmt.Sprintf("Write-Output %d; ", run), script)
			block(tm+21, id2, 1, 1, "whoami", fmt.Sprintf(`%s\%s\1.1.22\Downloads\script%d.ps1`, catalog.WindowsPluginsDir, s.rc.Name, run%4))
			block(tm+22, id, 1, 3, "$x = 1; ", script)
			if run%5 != 0 {
				block(tm+22, id, 3, 3, "Get-Date", script)
			}
			tm += 300 + 47*(run%4)
		}
		tm += 3600
	}
	for name, w := range map[string]*evtxwriter.Writer{LogSecurity: sec, LogSysmon: sysmon, LogPSOper: oper, LogPSClassic: classic} {
		f, err := os.Create(filepath.Join(logs, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteTo(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return s
}

// disk are executions on disk for some of the runs: by full script path
// (a Custom Script run, twice, so the second gets nothing), by relative
// name and window, by handler and window only, one matching nothing.
func (s *streamLogs) disk() []DiskExecution {
	at := func(sec int) time.Time { return s.start.Add(time.Duration(sec) * time.Second) }
	return []DiskExecution{
		// First in order, it takes the boot's Custom Script tree (every
		// run's powershell has the handler's pid 700 as parent) by a root
		// read after roots that matched the next one.
		{Handler: s.cse.Name, SeqNo: int64(6), ScriptPath: s.cseScript(6), Started: at(100000), Finished: at(100001)},
		{Handler: s.cse.Name, SeqNo: int64(4), ScriptPath: s.cseScript(4), Started: at(0), Finished: at(10)},
		{Handler: s.rc.Name, SeqNo: int64(0), ScriptPath: `C:\Packages\Plugins\` + s.rc.Name + `\1.1.22\Downloads\script1.ps1`,
			Started: at(300), Finished: at(320)},
		{Handler: s.cse.Name, SeqNo: int64(4), ScriptPath: s.cseScript(4), Started: at(0), Finished: at(10)},
		{Handler: s.rc.Name, SeqNo: int64(1), Started: at(2200), Finished: at(2210)},
		{Handler: s.cse.Name, SeqNo: int64(9), ScriptPath: `C:\elsewhere\x.ps1`, Started: at(1 << 20), Finished: at(1<<20 + 1)},
	}
}

func (s *streamLogs) open(t *testing.T) *Logs {
	scope := vfilter.NewScope()
	scope.AppendPlugins(builtins.ParseEvtxPlugin{})
	l := OpenLogs(context.Background(), scope, "test", "", s.dir, "")
	if l == nil {
		t.Fatal("the generated tree does not open")
	}
	return l
}

func rowsJSON(t *testing.T, js []*JoinedExecution) []string {
	var out []string
	for _, j := range js {
		b, err := json.Marshal(j.row(true))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// reference is the join before it streamed, with the command line as
// its row took it: the first process that is not a descendant.
func (s *streamLogs) reference(t *testing.T, window time.Duration) []*JoinedExecution {
	l := s.open(t)
	procs, ok := l.HandlerProcesses()
	if !ok {
		t.Fatal("processes not read")
	}
	scripts, ok := l.HandlerPowerShell()
	if !ok {
		t.Fatal("PowerShell not read")
	}
	js := joinReference(s.disk(), procs, scripts, window)
	for _, j := range js {
		for _, p := range j.Procs {
			if j.ProcCommand == "" && p.Match != MatchDescendant {
				j.ProcCommand = p.CommandLine
			}
		}
	}
	return js
}

func (s *streamLogs) streamed(t *testing.T, window time.Duration, limit int) []*JoinedExecution {
	l := s.open(t)
	jn := NewJoiner(s.disk(), window, limit)
	if !l.EachHandlerProcess(func(p Process) bool { jn.AddProcess(p); return true }) {
		t.Fatal("processes not read")
	}
	scripts, ok := l.HandlerPowerShell()
	if !ok {
		t.Fatal("PowerShell not read")
	}
	return jn.Finish(scripts)
}

// The streaming join gives the rows the join over every process in hand
// gave, on a log of several boots, Security and Sysmon, multi-part
// 4104 blocks, for several windows.
func TestStreamingJoinSameRows(t *testing.T) {
	s := writeStreamLogs(t)
	for _, window := range []time.Duration{0, time.Minute, DefaultWindow, 2 * time.Hour} {
		want := rowsJSON(t, s.reference(t, window))
		got := rowsJSON(t, s.streamed(t, window, ListLimit))
		if len(got) != len(want) {
			t.Fatalf("window %v: %d rows, want %d", window, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("window %v row %d:\n got %s\nwant %s", window, i, got[i], want[i])
			}
		}
	}
	// The rows hold what the test means to exercise.
	js := s.streamed(t, DefaultWindow, ListLimit)
	var disk, both, sysmon, missing int
	for _, j := range js {
		if j.Disk != nil && len(j.Procs) > 0 {
			disk++
		}
		files := map[string]bool{}
		for _, p := range j.Procs {
			files[p.OSPath] = true
		}
		if len(files) == 2 {
			both++
		}
		for _, p := range j.Procs {
			if p.Channel == ChanSysmon {
				sysmon++
			}
		}
		for _, sc := range j.Scripts {
			if len(sc.Missing) > 0 {
				missing++
			}
		}
	}
	if disk < 3 || both == 0 || sysmon == 0 || missing == 0 || len(js) < 20 {
		t.Errorf("%d rows: %d on disk with processes, %d from both logs, %d Sysmon processes, %d blocks with parts missing",
			len(js), disk, both, sysmon, missing)
	}
}

// A list longer than the limit keeps its first processes and PowerShell
// rows and counts the rest; the command line is still the first root's.
func TestStreamingJoinLimit(t *testing.T) {
	s := writeStreamLogs(t)
	want := s.reference(t, 2*time.Hour)
	got := s.streamed(t, 2*time.Hour, 3)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	cut := 0
	for i := range want {
		w, g := want[i], got[i]
		np, ns := min(len(w.Procs), 3), min(len(w.Scripts), 3)
		if len(g.Procs) != np || g.ProcsLeftOut != int64(len(w.Procs)-np) ||
			len(g.Scripts) != ns || g.ScriptsLeftOut != int64(len(w.Scripts)-ns) {
			t.Errorf("row %d: %d+%d processes, %d+%d scripts; want %d and %d in all", i,
				len(g.Procs), g.ProcsLeftOut, len(g.Scripts), g.ScriptsLeftOut, len(w.Procs), len(w.Scripts))
			continue
		}
		for k := 0; k < np; k++ {
			if g.Procs[k].RecordID != w.Procs[k].RecordID || g.Procs[k].OSPath != w.Procs[k].OSPath {
				t.Errorf("row %d process %d: record %d, want %d", i, k, g.Procs[k].RecordID, w.Procs[k].RecordID)
			}
		}
		if g.ProcCommand != w.ProcCommand || g.Script != w.Script || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) {
			t.Errorf("row %d: command %q script %q %v-%v, want %q %q %v-%v", i, g.ProcCommand, g.Script, g.Start, g.End,
				w.ProcCommand, w.Script, w.Start, w.End)
		}
		if g.ProcsLeftOut > 0 {
			cut++
		}
	}
	if cut == 0 {
		t.Error("no row's processes were cut at 3: the test does not exercise the limit")
	}
}
