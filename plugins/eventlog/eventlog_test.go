package eventlog

import (
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
)

var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func ev(ch string, id int64, sec int, kv ...interface{}) Event {
	e := Event{Time: t0.Add(time.Duration(sec) * time.Second), Channel: ch, EventID: id, Named: ordereddict.NewDict(), OSPath: "x.evtx"}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Named.Set(kv[i].(string), kv[i+1])
	}
	return e
}

func windowsHandler(t *testing.T, kind string) *catalog.Handler {
	for i := range catalog.Handlers {
		h := &catalog.Handlers[i]
		if h.OS == catalog.Windows && h.Kind == kind {
			return h
		}
	}
	t.Fatalf("no Windows %s handler in the catalogue", kind)
	return nil
}

func proc(sec int, pid, ppid int64, image, parent, cmd string) Event {
	return ev(ChanSecurity, 4688, sec, "NewProcessId", pid, "ProcessId", ppid, "NewProcessName", image,
		"ParentProcessName", parent, "CommandLine", cmd)
}

// The tree follows new/parent ids within a boot; an id reused after a
// reboot (4608) or by a later process is a different process.
func TestProcessTrees(t *testing.T) {
	rc := windowsHandler(t, catalog.KindRunCommand)
	handlerExe := catalog.WindowsPluginsDir + `\` + rc.Name + `\1.1.22\bin\` + rc.Processes[0]
	ps := `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	evs := []Event{
		proc(0, 100, 4, handlerExe, `C:\Windows\System32\services.exe`, rc.Processes[0]),
		proc(1, 200, 100, ps, handlerExe, "powershell -File script0.ps1"),
		proc(2, 300, 200, `C:\Windows\System32\whoami.exe`, ps, "whoami"),
		proc(3, 400, 300, `C:\Windows\System32\conhost.exe`, `C:\Windows\System32\whoami.exe`, "conhost"),
		proc(4, 500, 77, `C:\Windows\System32\notepad.exe`, `C:\Windows\explorer.exe`, "notepad"), // not a handler's
		ev(ChanSecurity, 4608, 5),
		proc(6, 600, 200, `C:\Windows\System32\net.exe`, ps, "net user"), // 200 is another process after the reboot
		proc(7, 200, 4, `C:\Windows\System32\svchost.exe`, `C:\Windows\System32\services.exe`, "svchost"),
		proc(8, 700, 200, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\svchost.exe`, "cmd"),
	}
	got := ProcessTrees(evs)
	var lines []string
	for _, p := range got {
		lines = append(lines, strings.Join([]string{p.Match, p.CommandLine}, "|"))
		if p.Handler != rc.Name {
			t.Errorf("%s: Handler %q, want %q", p.CommandLine, p.Handler, rc.Name)
		}
	}
	want := []string{"handler process|" + rc.Processes[0], "descendant|powershell -File script0.ps1", "descendant|whoami", "descendant|conhost"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("tree:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got[3].Depth != 3 || got[3].RootPid != 100 || got[3].Boot != 0 {
		t.Errorf("conhost: depth %d root %d boot %d", got[3].Depth, got[3].RootPid, got[3].Boot)
	}
	// The handler's own creation not logged: the child is found by its
	// parent's image, at depth 1.
	got = ProcessTrees(evs[1:3])
	if len(got) != 2 || got[0].Match != MatchHandlerParent || got[0].Depth != 1 || got[0].RootPid != 100 || got[1].Depth != 2 {
		t.Errorf("without the handler's creation: %+v", got)
	}
}

// Parts of a script block arrive in any order and may be missing.
func TestHandlerScriptsReassembly(t *testing.T) {
	rc := windowsHandler(t, catalog.KindManagedRunCommand)
	path := catalog.WindowsPluginsDir + `\` + rc.Name + `\2.0.8\Downloads\x\0\script.ps1`
	part := func(sec int, id string, n, total int32, text, p string) Event {
		return ev(ChanPSOper, 4104, sec, "MessageNumber", n, "MessageTotal", total, "ScriptBlockText", text, "ScriptBlockId", id, "Path", p)
	}
	got := HandlerScripts([]Event{
		part(1, "b", 2, 3, "two ", path),
		part(0, "b", 1, 3, "one ", path),
		part(2, "c", 1, 1, "elsewhere", `C:\Users\a\x.ps1`),
		part(3, "d", 2, 3, "middle", path),
		part(4, "b", 3, 3, "three", path),
	})
	if len(got) != 2 {
		t.Fatalf("%d scripts, want 2 (the block from C:\\Users is not a handler's): %+v", len(got), got)
	}
	if got[0].Text != "one two three" || got[0].Parts != 3 || len(got[0].Missing) != 0 || got[0].Handler != rc.Name {
		t.Errorf("block b: %+v", got[0])
	}
	if got[1].Text != "middle" || got[1].Parts != 1 || len(got[1].Missing) != 2 || got[1].Missing[0] != 1 || got[1].Missing[1] != 3 {
		t.Errorf("block d: %+v", got[1])
	}
	// Classic 400: the script comes from HostApplication's -File.
	classic := ev(ChanPSClassic, 400, 0)
	classic.Strings = []string{"Available", "None", "\tHostName=ConsoleHost\r\n\tHostApplication=powershell -ExecutionPolicy Unrestricted -File \"" + path + "\"\r\n\tScriptName=\r\n"}
	got = HandlerScripts([]Event{classic})
	if len(got) != 1 || got[0].ScriptPath != path || got[0].Handler != rc.Name {
		t.Errorf("classic 400: %+v", got)
	}
}

func TestAgentEvent(t *testing.T) {
	cse := windowsHandler(t, catalog.KindCustomScript)
	e := ev("Microsoft-WindowsAzure-Status/Plugins", 7, 0)
	e.Strings = []string{cse.Name, "1.10.18", "Uninstall"}
	h, folder, version, op := AgentEvent(&e)
	if h == nil || h.Name != cse.Name || folder != cse.Name || version != "1.10.18" || op != OpUninstall {
		t.Errorf("event 7: %v %q %q %q", h, folder, version, op)
	}
	e.Strings = []string{"Exception processing extension " + cse.Name + "... Extension Processing reported to be failed"}
	e.Level = 2
	if h, _, version, op = AgentEvent(&e); h == nil || version != "" || op != OpFailure {
		t.Errorf("event 9: %v %q %q", h, version, op)
	}
	e.Strings, e.Level = []string{"Microsoft.Azure.Monitor.AzureMonitorWindowsAgent", "1.2.0", "Enable"}, 4
	if h, folder, _, op = AgentEvent(&e); h != nil || folder != "Microsoft.Azure.Monitor.AzureMonitorWindowsAgent" || op != OpEnable {
		t.Errorf("uncatalogued handler: %v %q %q", h, folder, op)
	}
}

func TestJoin(t *testing.T) {
	rc := windowsHandler(t, catalog.KindManagedRunCommand)
	dir := catalog.WindowsPluginsDir + `\` + rc.Name + `\2.0.8\Downloads\`
	disk := []DiskExecution{
		{Handler: rc.Name, SeqNo: int64(0), ScriptPath: dir + `a\0\script.ps1`, Started: t0, Finished: t0.Add(time.Minute)},
		{Handler: rc.Name, SeqNo: int64(0), ScriptPath: dir + `b\0\script.ps1`, Started: t0.Add(time.Hour), Finished: t0.Add(time.Hour)},
	}
	scripts := []Script{
		{Time: t0.Add(2 * time.Hour), EventID: 4104, Handler: rc.Name, Folder: rc.Name, ScriptPath: dir + `a\0\script.ps1`, Text: "A"}, // path, out of window
		{Time: t0.Add(time.Hour + time.Minute), EventID: 800, Handler: rc.Name, Folder: rc.Name},                                       // window only
		{Time: t0.Add(5 * time.Hour), EventID: 4104, Handler: rc.Name, Folder: rc.Name, ScriptPath: dir + `gone\0\script.ps1`, Text: "G"},
	}
	got := Join(disk, nil, scripts, DefaultWindow)
	if len(got) != 3 {
		t.Fatalf("%d executions, want 2 on disk and 1 from the logs only", len(got))
	}
	if len(got[0].Scripts) != 1 || got[0].MatchedBy[0] != ByScriptPath {
		t.Errorf("a: %+v", got[0])
	}
	if len(got[1].Scripts) != 1 || got[1].MatchedBy[0] != ByHandlerWindow {
		t.Errorf("b: %+v", got[1])
	}
	if got[2].Disk != nil || got[2].Script != dir+`gone\0\script.ps1` || got[2].MatchedBy[0] != ByLogsOnly {
		t.Errorf("logs only: %+v", got[2])
	}
}

// The same run in Security and Sysmon is one logs-only execution; a run
// of another script in the same window is another.
func TestJoinAcrossLogs(t *testing.T) {
	rc := windowsHandler(t, catalog.KindRunCommand)
	p := func(file, cmd string, sec int, pid int64) Process {
		return Process{Time: t0.Add(time.Duration(sec) * time.Second), OSPath: file, Handler: rc.Name, Folder: rc.Name,
			Match: MatchHandlerParent, RootPid: 8000, Pid: pid, CommandLine: cmd}
	}
	procs := []Process{
		p("Security.evtx", "powershell -File script0.ps1", 0, 100),
		p("Sysmon.evtx", "powershell -File script0.ps1", 0, 100),
		p("Security.evtx", "powershell -File script1.ps1", 30, 200),
	}
	procs[2].RootPid = 8001
	got := Join(nil, procs, nil, DefaultWindow)
	if len(got) != 2 || len(got[0].Procs) != 2 || len(got[1].Procs) != 1 || got[1].Script != "script1.ps1" {
		for _, j := range got {
			t.Logf("%s %d", j.Script, len(j.Procs))
		}
		t.Errorf("%d executions, want script0 (Security and Sysmon) and script1", len(got))
	}
}

// A process that exited (4689, Sysmon 5) is no parent: a later event
// naming its id as parent is of another process that took the id
// without its creation being logged.
func TestProcessTreesExit(t *testing.T) {
	rc := windowsHandler(t, catalog.KindRunCommand)
	handlerExe := catalog.WindowsPluginsDir + `\` + rc.Name + `\1.1.22\bin\` + rc.Processes[0]
	ps := `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	evs := []Event{
		proc(0, 100, 4, handlerExe, `C:\Windows\System32\services.exe`, rc.Processes[0]),
		proc(1, 200, 100, ps, handlerExe, "powershell -File script0.ps1"),
		proc(2, 300, 200, `C:\Windows\System32\whoami.exe`, ps, "whoami"),
		ev(ChanSecurity, 4689, 3, "ProcessId", int64(200), "ProcessName", ps),
		proc(4, 400, 200, `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\svchost.exe`, "cmd"),
		proc(5, 500, 300, `C:\Windows\System32\conhost.exe`, `C:\Windows\System32\whoami.exe`, "conhost"),
	}
	var got []string
	for _, p := range ProcessTrees(evs) {
		got = append(got, p.CommandLine)
	}
	if strings.Join(got, "|") != rc.Processes[0]+"|powershell -File script0.ps1|whoami|conhost" {
		t.Errorf("after powershell's exit: %q (cmd's parent id 200 is no longer powershell's; whoami still lives)", got)
	}
	sysmon := []Event{
		ev(ChanSysmon, 1, 0, "ProcessId", int64(200), "ParentProcessId", int64(100), "Image", ps, "ParentImage", handlerExe, "CommandLine", "powershell"),
		ev(ChanSysmon, 5, 1, "ProcessId", int64(200), "Image", ps),
		ev(ChanSysmon, 1, 2, "ProcessId", int64(300), "ParentProcessId", int64(200), "Image", `C:\x.exe`, "ParentImage", `C:\y.exe`, "CommandLine", "x"),
	}
	if got := ProcessTrees(sysmon); len(got) != 1 {
		t.Errorf("Sysmon 5: %d processes in the tree, want the powershell only", len(got))
	}
}
