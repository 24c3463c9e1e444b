package extensions

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

const (
	rc2     = "var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.5"
	cse2    = "var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10"
	ostc    = "var/lib/waagent/Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.5"
	winRC1  = "Packages/Plugins/Microsoft.CPlat.Core.RunCommandWindows/1.1.22"
	winCSE  = "Packages/Plugins/Microsoft.Compute.CustomScriptExtension/1.10.15"
	winRC2  = "Packages/Plugins/Microsoft.CPlat.Core.RunCommandHandlerWindows/2.0.8"
	history = "var/lib/waagent/history/2024-05-02T10-20-00__7/ExtensionsConfig.xml"
)

func rc2Status(name, ts, state, iv string) string {
	return "[\n\t{\n\t\t\"version\": 1,\n\t\t\"timestampUTC\": \"" + ts + "\",\n\t\t\"status\": {\n\t\t\t\"name\": \"" + name +
		"\",\n\t\t\t\"operation\": \"Enable\",\n\t\t\t\"status\": \"" + state + "\",\n\t\t\t\"formattedMessage\": {\n\t\t\t\t\"lang\": \"en\",\n\t\t\t\t\"message\": " + jsonStr(iv) + "\n\t\t\t}\n\t\t}\n\t}\n]"
}

func jsonStr(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

const rootPlaceholder = "[\n{\n\"version\": 1,\n\"timestampUTC\": \"2024-05-02T09:00:01+00:00\",\n\"status\": {\n\"operation\": \"Enable\",\n\"status\": \"transitioning\",\n\"formattedMessage\": {\n\"lang\": \"en\",\n\"message\": \"{}\"\n}\n}\n}\n]\n"

const historyEC = `<?xml version="1.0" encoding="utf-8"?>
<Extensions version="1.0.0.0" goalStateIncarnation="7">
<Plugins>
  <Plugin name="Microsoft.CPlat.Core.RunCommandHandlerLinux" version="1.3.5" state="enabled" />
  <Plugin name="Microsoft.Azure.Extensions.CustomScript" version="2.1.10" state="enabled" />
</Plugins>
<PluginSettings>
  <Plugin name="Microsoft.CPlat.Core.RunCommandHandlerLinux" version="1.3.5">
    <ExtensionRuntimeSettings seqNo="1" name="collect" state="enabled">{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"source": {"script": "tar czf /tmp/c.tgz /etc"}}}}]}</ExtensionRuntimeSettings>
  </Plugin>
  <Plugin name="Microsoft.Azure.Extensions.CustomScript" version="2.1.10">
    <RuntimeSettings seqNo="0">{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"commandToExecute": "echo first"}}}]}</RuntimeSettings>
  </Plugin>
</PluginSettings>
</Extensions>`

func winStatus(ts, state, out, errs string) string {
	return `[{"version":"1","timestampUTC":"` + ts + `","status":{"name":"Microsoft.CPlat.Core.RunCommandWindows","operation":"Enable","status":"` + state +
		`","code":0,"formattedMessage":{"lang":"en-US","message":"Finished executing command"},"substatus":[{"name":"StdOut","status":"success","code":0,"formattedMessage":{"lang":"en-US","message":` +
		jsonStr(out) + `}},{"name":"StdErr","status":"success","code":0,"formattedMessage":{"lang":"en-US","message":` + jsonStr(errs) + `}}]}}]`
}

// mixedTree holds every ExecKind: Linux RC v2, CSE v2, OSTC CSE v1 and a
// Windows C: tree (RC v1, CSE, RC v2) under one root.
func mixedTree(t testing.TB) string {
	root := t.TempDir()
	rcdl := "var/lib/waagent/run-command-handler/download/"
	writeTree(t, root, []tfile{
		// RC v2: "collect" seq 1 truncated settings (script only in the
		// goal-state history), download deleted, runAs copy kept.
		{path: rc2 + "/config/collect.1.settings", content: "", mtime: "2024-05-02T10:30:00Z"},
		{path: rc2 + "/status/collect.1.status", content: rc2Status("collect", "2024-05-02T10:20:31Z", "success",
			`{"executionState":"Succeeded","executionMessage":"Execution completed","output":"ok\n","error":"","exitCode":0,"startTime":"2024-05-02T10:20:30Z","endTime":"2024-05-02T10:20:31Z"}`), mtime: "2024-05-02T10:20:31Z"},
		{path: "home/azureuser/waagent/run-command-handler-runas/download/collect/1/script.sh", content: "tar czf /tmp/c.tgz /etc\n", mtime: "2024-05-02T10:20:29Z"},
		// RC v2: "fail" seq 2 current, public script, exit 3.
		{path: rc2 + "/config/fail.2.settings", content: settingsJSON(`{"source": {"script": "exit 3"}, "runAsUser": "", "timeoutInSeconds": 3600}`, true), mtime: "2024-05-02T10:30:00Z"},
		{path: rc2 + "/status/fail.2.status", content: rc2Status("fail", "2024-05-02T10:30:05Z", "success",
			`{"executionState":"Failed","executionMessage":"Execution failed: exit status 3","output":"","error":"boom\n","exitCode":3,"startTime":"2024-05-02T10:30:04Z","endTime":"2024-05-02T10:30:05Z"}`), mtime: "2024-05-02T10:30:05Z"},
		{path: rc2 + "/fail.mrseq", content: "2"},
		{path: rcdl + "fail/2/script.sh", content: "exit 3\n", mtime: "2024-05-02T10:30:04Z"},
		{path: rcdl + "fail/2/stdout", content: "", mtime: "2024-05-02T10:30:05Z"},
		{path: rcdl + "fail/2/stderr", content: "boom\n", mtime: "2024-05-02T10:30:05Z"},
		// RC v2: immediate run, scriptUri download.
		{path: rc2 + "/config/imm.0.settings", content: settingsJSON(`{"source": {"scriptUri": "https://x.blob.core.windows.net/s/run.sh?sig=abc"}}`, false), mtime: "2024-05-02T11:00:00Z"},
		{path: "var/lib/waagent/run-command-handler/immediateDownload/imm/0/run.sh", content: "id\n", mtime: "2024-05-02T11:00:02Z"},
		{path: "var/lib/waagent/run-command-handler/immediateDownload/imm/0/stdout", content: "uid=0\n", mtime: "2024-05-02T11:00:03Z"},
		// RC v2: stray root placeholder only.
		{path: "Demo.0.status", content: rootPlaceholder, mtime: "2024-05-02T09:00:01Z"},
		// CSE v2: seq 0 truncated, download deleted; seq 1 current.
		{path: cse2 + "/config/0.settings", content: "", mtime: "2024-05-02T12:00:10Z"},
		{path: cse2 + "/config/1.settings", content: settingsJSON(`{"commandToExecute": "sh setup.sh", "fileUris": ["https://x.blob.core.windows.net/s/setup.sh"]}`, false), mtime: "2024-05-02T12:00:00Z"},
		{path: cse2 + "/status/1.status", content: goStatus("2024-05-02T12:00:09Z", "error", "Enable failed: failed to execute command: command terminated with exit status=2\n[stdout]\nhi\n\n[stderr]\nbad\n"), mtime: "2024-05-02T12:00:09Z"},
		{path: cse2 + "/mrseq", content: "1"},
		{path: "var/lib/waagent/custom-script/download/1/setup.sh", content: "echo hi; exit 2\n", mtime: "2024-05-02T12:00:05Z"},
		{path: "var/lib/waagent/custom-script/download/1/stdout", content: "hi\n", mtime: "2024-05-02T12:00:08Z"},
		{path: "var/lib/waagent/custom-script/download/1/stderr", content: "bad\n", mtime: "2024-05-02T12:00:08Z"},
		{path: history, content: historyEC},
		// OSTC CSE v1: download inside the handler folder.
		{path: ostc + "/config/0.settings", content: settingsJSON(`{"commandToExecute": "python hello.py", "fileUris": ["https://x/hello.py"]}`, false), mtime: "2024-05-01T08:00:00Z"},
		{path: ostc + "/status/0.status", content: `[{"version": "1.0", "timestampUTC": "2024-05-01T08:00:09Z", "status": {"name": "Microsoft.OSTCExtensions.CustomScriptForLinux", "operation": "Enable", "status": "success", "code": "0", "formattedMessage": {"lang": "en-US", "message": "Script is finished. ---stdout--- hello ---errout---  "}}}]`, mtime: "2024-05-01T08:00:09Z"},
		{path: ostc + "/download/0/hello.py", content: "print('hello')\n", mtime: "2024-05-01T08:00:05Z"},
		{path: ostc + "/download/0/stdout", content: "hello\n", mtime: "2024-05-01T08:00:08Z"},
		{path: ostc + "/download/0/errout", content: "", mtime: "2024-05-01T08:00:08Z"},
		// Windows RC v1: two runs, a file the second one wrote.
		{path: winRC1 + "/RuntimeSettings/0.settings", content: settingsJSON(`{"script": ["whoami", "hostname"]}`, true), mtime: "2024-05-03T10:00:00Z"},
		{path: winRC1 + "/Status/0.status", content: winStatus("2024-05-03T10:00:05.1234567Z", "success", "nt authority\\system\nvm1\n", ""), mtime: "2024-05-03T10:00:05Z"},
		{path: winRC1 + "/Downloads/script0.ps1", content: "whoami\nhostname\n", mtime: "2024-05-03T10:00:02Z"},
		{path: winRC1 + "/RuntimeSettings/1.settings", content: settingsJSON(`{}`, true), mtime: "2024-05-03T11:00:00Z"},
		{path: winRC1 + "/Status/1.status", content: winStatus("2024-05-03T11:00:05Z", "success", "", ""), mtime: "2024-05-03T11:00:05Z"},
		{path: winRC1 + "/Downloads/script1.ps1", content: "Get-Process | Out-File .\\Process.txt\n", mtime: "2024-05-03T11:00:02Z"},
		{path: winRC1 + "/Downloads/Process.txt", content: "procs\n", mtime: "2024-05-03T11:00:04Z"},
		// Windows CSE: Downloads\<n>\ keeps the path after the container.
		{path: winCSE + "/RuntimeSettings/2.settings", content: settingsJSON(`{"commandToExecute": "powershell -File scripts\\install.ps1", "fileUris": ["https://x.blob.core.windows.net/c/scripts/install.ps1"]}`, false), mtime: "2024-05-03T12:00:00Z"},
		{path: winCSE + "/Status/2.status", content: winStatus("2024-05-03T12:00:09Z", "success", "installed\n", ""), mtime: "2024-05-03T12:00:09Z"},
		{path: winCSE + "/Downloads/2/scripts/install.ps1", content: "Write-Host installed\n", mtime: "2024-05-03T12:00:03Z"},
		// Windows RC v2.
		{path: winRC2 + "/RuntimeSettings/Demo.0.settings", content: settingsJSON(`{"source": {"script": "ipconfig /all"}}`, true), mtime: "2024-05-03T13:00:00Z"},
		{path: winRC2 + "/Status/Demo.0.status", content: rc2Status("Demo", "2024-05-03T13:00:09Z", "success",
			`{"executionState":"Succeeded","output":"Windows IP Configuration\n","error":"","exitCode":0,"startTime":"2024-05-03T13:00:05Z","endTime":"2024-05-03T13:00:09Z"}`), mtime: "2024-05-03T13:00:09Z"},
		{path: winRC2 + "/HandlerManifest.json", content: `[{"version": 1.0, "handlerManifest": {"enableCommand": "bin\\RunCommandHandler.exe enable", "supportsMultipleExtensions": true}}]`},
	})
	return root
}

func walkRows(t testing.TB, root string) map[string]*ordereddict.Dict {
	acc, _ := evidence.Get(nil, "file")
	r := evidence.NewRoot(acc, root)
	out := map[string]*ordereddict.Dict{}
	WalkExecutions(context.Background(), r, true, func(f string, a ...any) { t.Logf("log: "+f, a...) }, func(d *ordereddict.Dict) bool {
		h, _ := d.Get("Handler")
		n, _ := d.Get("ExtensionName")
		s, _ := d.Get("SeqNo")
		key := strings.Join([]string{h.(string), strOr(n), fmt.Sprint(s)}, "/")
		out[key] = d
		return true
	})
	return out
}

func strOr(v any) string {
	s, _ := v.(string)
	return s
}

func want(t *testing.T, rows map[string]*ordereddict.Dict, key string, col string, v any) {
	t.Helper()
	d := rows[key]
	if d == nil {
		t.Errorf("%s: no row (have %v)", key, keys(rows))
		return
	}
	got, _ := d.Get(col)
	if !equalish(got, v) {
		t.Errorf("%s.%s = %#v, want %#v", key, col, got, v)
	}
}

func keys(m map[string]*ordereddict.Dict) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func equalish(a, b any) bool {
	switch x := a.(type) {
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalish(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if ta, ok := a.(interface{ Format(string) string }); ok {
		return ta.Format("2006-01-02T15:04:05.999999999Z07:00") == b
	}
	return a == b
}

func TestExecutionsMixedKinds(t *testing.T) {
	rows := walkRows(t, mixedTree(t))
	if len(rows) != 11 {
		t.Errorf("rows %d: %v", len(rows), keys(rows))
	}
	const h2 = "Microsoft.CPlat.Core.RunCommandHandlerLinux"
	// RC v2 truncated settings: command from the goal-state history.
	k := h2 + "/collect/1"
	want(t, rows, k, "Kind", "ManagedRunCommand")
	want(t, rows, k, "Command", "tar czf /tmp/c.tgz /etc")
	want(t, rows, k, "CommandSource", "goalstate")
	want(t, rows, k, "GoalState", "/var/lib/waagent/history/2024-05-02T10-20-00__7/ExtensionsConfig.xml")
	want(t, rows, k, "ScriptPath", "/home/azureuser/waagent/run-command-handler-runas/download/collect/1/script.sh")
	want(t, rows, k, "RunAsUser", "azureuser")
	want(t, rows, k, "SettingsEmpty", true)
	want(t, rows, k, "SettingsMtime", "2024-05-02T10:30:00Z")
	want(t, rows, k, "Started", "2024-05-02T10:20:30Z")
	want(t, rows, k, "StartedSource", "status.startTime")
	want(t, rows, k, "StdOut", "ok\n")
	want(t, rows, k, "ExecutionState", "Succeeded")
	// RC v2 failure.
	k = h2 + "/fail/2"
	want(t, rows, k, "ExitCode", int64(3))
	want(t, rows, k, "ExecutionState", "Failed")
	want(t, rows, k, "StdErr", "boom\n")
	want(t, rows, k, "OutputSource", "files")
	want(t, rows, k, "MostRecent", true)
	want(t, rows, k, "CommandSource", "settings")
	// RC v2 immediate, scriptUri download.
	k = h2 + "/imm/0"
	want(t, rows, k, "WorkingDir", "/var/lib/waagent/run-command-handler/immediateDownload/imm/0")
	want(t, rows, k, "ScriptPath", "/var/lib/waagent/run-command-handler/immediateDownload/imm/0/run.sh")
	want(t, rows, k, "StdOut", "uid=0\n")
	// Stray root placeholder.
	k = h2 + "/Demo/0"
	want(t, rows, k, "StatusPath", "/Demo.0.status")
	want(t, rows, k, "Started", "2024-05-02T09:00:01Z")
	want(t, rows, k, "StartedSource", "status.placeholder")
	want(t, rows, k, "RelatedPaths", []interface{}{"/Demo.0.status"})
	// CSE v2.
	const c2 = "Microsoft.Azure.Extensions.CustomScript"
	want(t, rows, c2+"//0", "SettingsEmpty", true)
	want(t, rows, c2+"//0", "SettingsMtime", "2024-05-02T12:00:10Z")
	want(t, rows, c2+"//0", "Started", nil)
	want(t, rows, c2+"//0", "Command", "echo first")
	want(t, rows, c2+"//0", "Kind", "CustomScript")
	want(t, rows, c2+"//1", "ExitCode", int64(2))
	want(t, rows, c2+"//1", "Status", "error")
	want(t, rows, c2+"//1", "StartedSource", "download.mtime")
	// OSTC.
	const o = "Microsoft.OSTCExtensions.CustomScriptForLinux"
	want(t, rows, o+"//0", "WorkingDir", "/"+ostc+"/download/0")
	want(t, rows, o+"//0", "StdOut", "hello\n")
	want(t, rows, o+"//0", "StdErr", "")
	want(t, rows, o+"//0", "Kind", "CustomScript")
	// Windows RC v1.
	const w1 = "Microsoft.CPlat.Core.RunCommandWindows"
	want(t, rows, w1+"//0", "OS", "Windows")
	want(t, rows, w1+"//0", "Command", "whoami\nhostname")
	want(t, rows, w1+"//0", "ScriptPath", `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\Downloads\script0.ps1`)
	want(t, rows, w1+"//0", "StdOut", "nt authority\\system\nvm1\n")
	want(t, rows, w1+"//0", "OutputSource", "status")
	want(t, rows, w1+"//0", "Files", []interface{}{})
	want(t, rows, w1+"//1", "CommandSource", "script")
	if f, _ := rows[w1+"//1"].Get("Files"); len(f.([]interface{})) != 1 {
		t.Errorf("RC v1 Windows seq 1 files: %v", f)
	}
	// Windows CSE.
	const wc = "Microsoft.Compute.CustomScriptExtension"
	want(t, rows, wc+"//2", "WorkingDir", `C:\Packages\Plugins\Microsoft.Compute.CustomScriptExtension\1.10.15\Downloads\2`)
	if f, _ := rows[wc+"//2"].Get("Files"); len(f.([]interface{})) != 1 {
		t.Errorf("CSE Windows files: %v", f)
	} else if n, _ := f.([]interface{})[0].(*ordereddict.Dict).Get("Name"); n != "scripts/install.ps1" {
		t.Errorf("CSE Windows file name %v", n)
	}
	// Windows RC v2.
	const w2 = "Microsoft.CPlat.Core.RunCommandHandlerWindows"
	want(t, rows, w2+"/Demo/0", "Kind", "ManagedRunCommand")
	want(t, rows, w2+"/Demo/0", "Command", "ipconfig /all")
	want(t, rows, w2+"/Demo/0", "StdOut", "Windows IP Configuration\n")
}

func TestHandlersWindows(t *testing.T) {
	acc, _ := evidence.Get(nil, "file")
	r := evidence.NewRoot(acc, mixedTree(t))
	var win []string
	for _, h := range ListHandlers(r, func(f string, a ...any) { t.Errorf(f, a...) }) {
		if h.OS == "Windows" {
			win = append(win, h.Handler+"@"+h.Version)
		}
	}
	if strings.Join(win, ",") != "Microsoft.Compute.CustomScriptExtension@1.10.15,Microsoft.CPlat.Core.RunCommandHandlerWindows@2.0.8,Microsoft.CPlat.Core.RunCommandWindows@1.1.22" {
		t.Errorf("windows handlers %v", win)
	}
}

const aggSnapshot = "\ufeff" + `{"version": "1.1", "timestampUTC": "2024-05-03T10:00:30Z", "aggregateStatus": {
 "guestAgentStatus": {"version": "2.7.41491.1102", "status": "Ready", "formattedMessage": {"lang": "en-US", "message": "GuestAgent is running and processing the extensions."}},
 "handlerAggregateStatus": [
  {"handlerVersion": "1.1.22", "handlerName": "Microsoft.CPlat.Core.RunCommandWindows", "status": "Ready", "code": 0, "formattedMessage": {"lang": "en-US", "message": "Plugin enabled"},
   "runtimeSettingsStatus": {"settingsStatus": {"timestampUTC": "2024-05-03T10:00:05Z", "status": {"name": "Microsoft.CPlat.Core.RunCommandWindows", "operation": "Enable", "status": "success", "code": 0,
     "formattedMessage": {"lang": "en-US", "message": "Finished executing command"},
     "substatus": [{"name": "StdOut", "status": "success", "code": 0, "formattedMessage": {"lang": "en-US", "message": "nt authority\\system"}},
                   {"name": "StdErr", "status": "success", "code": 0, "formattedMessage": {"lang": "en-US", "message": ""}}]}}, "sequenceNumber": 0}},
  {"handlerVersion": "2.0.8", "handlerName": "Microsoft.CPlat.Core.RunCommandHandlerWindows", "status": "Ready", "code": 0,
   "runtimeSettingsStatus": [{"extensionName": "Demo", "sequenceNumber": "1", "settingsStatus": {"timestampUTC": "2024-05-03T10:00:20Z", "status": {"name": "Demo", "operation": "Enable", "status": "success",
     "formattedMessage": {"lang": "en-US", "message": "{\"executionState\":\"Failed\",\"exitCode\":5,\"output\":\"\",\"error\":\"denied\"}"}}}}]},
  {"handlerVersion": "1.10.15", "handlerName": "Microsoft.Compute.CustomScriptExtension", "status": "NotReady", "code": 1}
 ]}}`

func TestParseAggregateStatus(t *testing.T) {
	a, err := ParseAggregateStatus([]byte(aggSnapshot))
	if err != nil {
		t.Fatal(err)
	}
	if a.Encoding == "" || a.AgentVersion != "2.7.41491.1102" || len(a.Handlers) != 3 {
		t.Fatalf("%+v", a)
	}
	h := a.Handlers[0]
	if h.SeqNo == nil || *h.SeqNo != 0 || h.Settings == nil || h.Settings.StdOut == nil || *h.Settings.StdOut != "nt authority\\system" {
		t.Errorf("rc1 %+v", h)
	}
	h = a.Handlers[1]
	if h.ExtensionName != "Demo" || h.SeqNo == nil || *h.SeqNo != 1 || h.Settings.ExitCode == nil || *h.Settings.ExitCode != 5 || h.Settings.ExecutionState != "Failed" {
		t.Errorf("rc2 %+v %+v", h, h.Settings)
	}
	if a.Handlers[2].Settings != nil || a.Handlers[2].HandlerStatus != "NotReady" {
		t.Errorf("cse %+v", a.Handlers[2])
	}
	for _, bad := range []string{"", `{"aggregateStatus": {"handlerAggregateStatus": [`, "\x00\x01garbage", `[]`, `{"aggregateStatus": 5}`} {
		a, err := ParseAggregateStatus([]byte(bad))
		if a == nil || (err == nil && !a.Empty) {
			t.Errorf("%q: %v %+v", bad, err, a)
		}
	}
}

func TestWalkAggregateStatus(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, []tfile{
		{path: "WindowsAzure/Logs/AggregateStatus/aggregatestatus_20240503100030.json", content: aggSnapshot, mtime: "2024-05-03T10:00:31Z"},
		{path: "WindowsAzure/Logs/AggregateStatus/aggregatestatus_20240503100100.json", content: `{"aggregateStatus": {"handlerAggr`, mtime: "2024-05-03T10:01:00Z"},
	})
	acc, _ := evidence.Get(nil, "file")
	var rows []*ordereddict.Dict
	WalkAggregateStatus(context.Background(), evidence.NewRoot(acc, root), true, func(string, ...any) {}, func(d *ordereddict.Dict) bool {
		rows = append(rows, d)
		return true
	})
	if len(rows) != 4 {
		t.Fatalf("rows %d", len(rows))
	}
	if p, _ := rows[0].Get("OSPath"); p != `C:\WindowsAzure\Logs\AggregateStatus\aggregatestatus_20240503100030.json` {
		t.Errorf("OSPath %v", p)
	}
	if pe, _ := rows[3].Get("ParseError"); pe == nil {
		t.Errorf("truncated snapshot: no ParseError")
	}
}

func TestWindowsExitCodes(t *testing.T) {
	for msg, want := range map[string]int64{
		"Command execution finished. Command exited with code: 2":                                     2,
		"Command execution finished, but failed because it returned a non-zero exit code of: '1'":     1,
		"Enable failed: failed to execute command: command terminated with exit status=3\n[stdout]\n": 3,
		"RunCommand script execution finished with exit code: 0":                                      0,
	} {
		s, _ := ParseStatus([]byte(`[{"status": {"status": "error", "formattedMessage": {"message": ` + jsonStr(msg) + `}}}]`))
		if s.ExitCode == nil || *s.ExitCode != want {
			t.Errorf("%q: %v", msg, s.ExitCode)
		}
	}
}

func TestDirVersionFallback(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, []tfile{
		{path: ostc + "/download/5/stdout", content: "x\n", mtime: "2024-05-01T08:00:08Z"},
		{path: winRC1 + "/Downloads/script9.ps1", content: "id\n", mtime: "2024-05-01T08:00:08Z"},
	})
	rows := walkRows(t, root)
	want(t, rows, "Microsoft.OSTCExtensions.CustomScriptForLinux//5", "HandlerVersion", "1.5.5")
	want(t, rows, "Microsoft.CPlat.Core.RunCommandWindows//9", "HandlerVersion", "1.1.22")
	want(t, rows, "Microsoft.CPlat.Core.RunCommandWindows//9", "CommandSource", "script")
}
