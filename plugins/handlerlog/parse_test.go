package handlerlog

import (
	"context"
	"strings"
	"testing"
	"time"
)

func parseAll(t *testing.T, name, text string, redact bool) ([]Record, string) {
	t.Helper()
	var recs []Record
	var logs []string
	f := Read(context.Background(), strings.NewReader(text), Options{Name: name, Redact: redact},
		func(s string) { logs = append(logs, s) },
		func(r *Record) bool { recs = append(recs, *r); return true })
	return recs, f
}

// Lines quoted in docs/formats.md §1.11 and §4.2 (real pastes).
const winPlugin = `[4892+00000001] [03/04/2021 20:49:58.30] [INFO] Starting RunCommand Extension v1
[4892+00000001] [03/04/2021 20:49:58.31] [INFO] Installing Handler
[4892+00000001] [03/04/2021 20:49:58.31] [INFO] Handler successfully installed
[1116+00000001] [03/04/2021 20:50:04.76] [INFO] Starting RunCommand Extension v1
[1116+00000001] [03/04/2021 20:50:04.79] [INFO] Enabling Handler
[1116+00000001] [03/04/2021 20:50:04.79] [INFO] Handler successfully enabled
[1116+00000001] [03/04/2021 20:50:04.79] [INFO] Loading configuration for sequence number 0
[1116+00000001] [03/04/2021 20:50:04.82] [INFO] HandlerSettings = ProtectedSettingsCertThumbprint: REDACTED, ProtectedSettings: {REDACTED}, PublicSettings: {Script: [Get-Process |
Out-File -FilePath .\Process.txt]}
[1116+00000001] [03/04/2021 20:50:04.85] [INFO] Asynchronously executing the specified run command script.
[1116+00000001] [03/04/2021 20:50:04.93] [INFO] Command execution task started. Awaiting completion...
[1116+00000001] [03/04/2021 20:50:05.38] [INFO] Command execution finished. Command exited with code: 0
`

func TestWindowsPlugin(t *testing.T) {
	recs, f := parseAll(t, `C:\WindowsAzure\Logs\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.8\RunCommandExtension.log`, winPlugin, true)
	if f != FormatWinPlugin {
		t.Fatalf("format %q", f)
	}
	if len(recs) != 11 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[7]
	if r.Pid != 1116 || r.Tid != 1 || r.SeqNo != 0 || r.Operation != "enable" || r.Event != EvSettings ||
		r.Handler != "Microsoft.CPlat.Core.RunCommandWindows" || r.Version != "1.1.8" || r.Lines != 2 ||
		!strings.HasSuffix(r.Message, "\nOut-File -FilePath .\\Process.txt]}") {
		t.Errorf("%+v", r)
	}
	if want := time.Date(2021, 3, 4, 20, 50, 4, 820000000, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time %v", r.Time)
	}
	last := recs[10]
	if last.Event != EvExecuted || !last.HasExitCode || last.ExitCode != 0 || last.SeqNo != 0 {
		t.Errorf("%+v", last)
	}
	if recs[1].SeqNo != -1 || recs[1].Operation != "install" {
		t.Errorf("install: %+v", recs[1])
	}
	b := NewExecBuilder()
	b.StartFile("x")
	for i := range recs {
		b.Add(&recs[i])
	}
	ex := b.Executions()
	if len(ex) != 1 || ex[0].Command != "Get-Process |\nOut-File -FilePath .\\Process.txt" || ex[0].outcome() != OutcomeSuccess ||
		!ex[0].Started.Equal(time.Date(2021, 3, 4, 20, 50, 4, 760000000, time.UTC)) {
		t.Errorf("%+v %q", *ex[0], ex[0].outcome())
	}
}

const waAppAgent = `[00000011] [12/11/2018 06:27:55.66] [WARN]  (Ignoring) Exception while fetching supported versions from HostGAPlugin: System.Net.WebException: ...
   at System.Net.HttpWebRequest.GetResponse()
[00000007] [07/18/2019 14:46:28.87] [WARN] WindowsAzureGuestAgent stopping.
[00000018] 2021-01-12T16:35:45Z [INFO]  Test extract the plugin zip file to the temp folder C:\TEMP\x
[00000010] 2021-01-12T16:35:45Z [ERROR] InstallPlugins() failed with exception: System.AggregateException: ...
[00000010] 2021-01-12T16:35:46Z [ERROR] Install failed for plugin (name: Microsoft.ManagedIdentity.ManagedIdentityExtensionForWindows, version 1.0.0.1) with exception Command C:\Packages\Plugins\Microsoft.ManagedIdentity.ManagedIdentityExtensionForWindows\1.0.0.1\msi-extension-handler.exe of Microsoft.ManagedIdentity.ManagedIdentityExtensionForWindows has exited with Exit code: 1
`

func TestWaAppAgent(t *testing.T) {
	recs, f := parseAll(t, `C:\WindowsAzure\Logs\WaAppAgent.log`, waAppAgent, true)
	if f != FormatWaAppAgent || len(recs) != 5 {
		t.Fatalf("%q %d", f, len(recs))
	}
	if recs[0].Tid != 11 || recs[0].Level != "WARN" || recs[0].Lines != 2 || recs[0].Pid != -1 {
		t.Errorf("%+v", recs[0])
	}
	if !recs[2].Time.Equal(time.Date(2021, 1, 12, 16, 35, 45, 0, time.UTC)) {
		t.Errorf("%v", recs[2].Time)
	}
	r := recs[4]
	if r.Handler != "Microsoft.ManagedIdentity.ManagedIdentityExtensionForWindows" || r.Version != "1.0.0.1" ||
		r.Event != EvPluginFailed || r.Operation != "install" || !r.HasExitCode || r.ExitCode != 1 {
		t.Errorf("%+v", r)
	}
}

const ostc = `2016/12/23 04:25:14 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1] cwd is /var/lib/waagent/Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1
2016/12/23 04:25:14 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1] Change log file to /var/log/azure/Microsoft.OSTCExtensions.CustomScriptForLinux/1.5.2.1/extension.log
2016/12/23 04:25:15 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1] sequence number is 3
2016/12/23 04:25:16 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1] Enable,success,0,Enable succeeded
2016/12/23 04:25:17 ERROR:[Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.1] Daemon,failed,1,script failed
`

func TestOSTC(t *testing.T) {
	recs, f := parseAll(t, "/var/log/azure/Microsoft.OSTCExtensions.CustomScriptForLinux/1.5.2.1/extension.log", ostc, true)
	if f != FormatOSTC || len(recs) != 5 {
		t.Fatalf("%q %d", f, len(recs))
	}
	r := recs[3]
	if r.Handler != "Microsoft.OSTCExtensions.CustomScriptForLinux" || r.Version != "1.5.2.1" || r.Event != EvStatus ||
		r.Operation != "enable" || r.Message != "Enable,success,0,Enable succeeded" {
		t.Errorf("%+v", r)
	}
	if recs[4].Level != "ERROR" || recs[4].Error != "script failed" {
		t.Errorf("%+v", recs[4])
	}
	// No prefix, no level: NULL rather than an assumed INFO (issue 11 §4).
	if recs[0].Level != "" {
		t.Errorf("level of a line without one: %q", recs[0].Level)
	}
}

// WaAppAgent.log as Microsoft's troubleshooting pages show it: no
// [thread] before the time. Tid is NULL; time, level and message are read.
func TestWaAppAgentNoThread(t *testing.T) {
	const log = `[07/11/2019 21:04:19.62] [INFO] WindowsAzureGuestAgent starting. Version 2.7.41491.949
[07/11/2019 21:04:20.01] [WARN]  Unable to open the extension status file
[07/11/2019 21:04:21.35] [ERROR] Failed to download the extension plugin
  continuation of the error
`
	recs, f := parseAll(t, `C:\WindowsAzure\Logs\WaAppAgent.log`, log, true)
	if f != FormatWaAppAgent || len(recs) != 3 {
		t.Fatalf("%q %d %+v", f, len(recs), recs)
	}
	want := time.Date(2019, 7, 11, 21, 4, 19, 620000000, time.UTC)
	if r := recs[0]; r.Tid != -1 || !r.Time.Equal(want) || r.Level != "INFO" || r.Unparsed ||
		r.Message != "WindowsAzureGuestAgent starting. Version 2.7.41491.949" {
		t.Errorf("%+v", r)
	}
	if r := recs[1]; r.Level != "WARN" || r.Message != "Unable to open the extension status file" {
		t.Errorf("%+v", r)
	}
	if r := recs[2]; r.Level != "ERROR" || r.Message != "Failed to download the extension plugin\n  continuation of the error" {
		t.Errorf("%+v", r)
	}
}

const logfmt = `+ /var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.3/bin/custom-script-extension install
time=2023-04-07T04:09:20Z version=v2.1.3/git@4cd2b9f-clean operation=install seq=0 event=start
time=2023-04-07T04:09:20Z version=v2.1.3/git@4cd2b9f-clean operation=install seq=0 status="not reported for operation (by design)"
time=2023-04-07T04:09:20Z version=v2.1.3/git@4cd2b9f-clean operation=install seq=0 event="created data dir" path=/var/lib/waagent/custom-script
time=2023-04-07T04:09:20Z version=v2.1.3/git@4cd2b9f-clean operation=install seq=0 event=end
Writing a placeholder status file indicating progress before forking: /var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.3/status/0.status
+ nohup /var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.3/bin/custom-script-extension enable
time=2023-04-07T04:09:21Z version=v2.1.3/git@4cd2b9f-clean operation=enable seq=0 event="failed to execute command" error="failed to execute command: command terminated with exit status=2" empty= quote="a \"b\" c"
`

func TestLogfmt(t *testing.T) {
	recs, f := parseAll(t, "/var/log/azure/custom-script/handler.log", logfmt, true)
	if f != FormatLogfmt || len(recs) != 6 {
		t.Fatalf("%q %d", f, len(recs))
	}
	if !recs[0].Unparsed || recs[0].Handler != "Microsoft.Azure.Extensions.CustomScript" {
		t.Errorf("%+v", recs[0])
	}
	r := recs[4]
	if r.Event != "end" || r.Lines != 3 || !strings.HasPrefix(r.Message, "Writing a placeholder") || r.Version != "2.1.3" {
		t.Errorf("%+v", r)
	}
	r = recs[5]
	if r.ExitCode != 2 || !r.HasExitCode || r.Operation != "enable" || r.SeqNo != 0 {
		t.Errorf("%+v", r)
	}
	if v, _ := r.Fields.GetString("quote"); v != `a "b" c` {
		t.Errorf("quote %q", v)
	}
	if v, ok := r.Fields.Get("empty"); !ok || v != "" {
		t.Errorf("empty %v", v)
	}
	if len(r.Fields.Keys()) != 8 {
		t.Errorf("keys %v", r.Fields.Keys())
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct{ head, name, want string }{
		{winPlugin, "x.log", FormatWinPlugin},
		{waAppAgent, "x.log", FormatWaAppAgent},
		{ostc, "extension.log", FormatOSTC},
		{ostc, "/var/log/waagent.log", FormatWaagent},
		{logfmt, "anything", FormatLogfmt},
		{"2022-04-19T15:38:20.087345Z INFO ExtHandler ExtHandler x\n", "CommandExecution.log", FormatWaagent},
		{"2017/11/08 21:54:42.959541 INFO [Microsoft.Azure.Extensions.CustomScript-2.0.3] Target handler state: enabled\n", "y", FormatWaagent},
		{"", "/var/log/azure/run-command/handler.log", FormatLogfmt},
		{"", `C:\WindowsAzure\Logs\TransparentInstaller.log`, FormatWaAppAgent},
		{"hello\n", "notes.txt", FormatText},
	} {
		if got := Detect([]byte(c.head), c.name); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCapsAndGarbage(t *testing.T) {
	long := "time=2023-04-07T04:09:20Z seq=1 event=x msg=" + strings.Repeat("A", 3<<20) + "\n\x00\x01binary\nafter\n"
	var recs []Record
	var logs []string
	Read(context.Background(), strings.NewReader(long), Options{Name: "handler.log", MaxLine: 1 << 20},
		func(s string) { logs = append(logs, s) },
		func(r *Record) bool { recs = append(recs, *r); return true })
	if len(recs) != 2 || !recs[0].Truncated || !recs[1].Unparsed || recs[1].Lines != 2 {
		t.Fatalf("%d %+v", len(recs), recs[1])
	}
	if len(logs) != 1 {
		t.Errorf("logs %v", logs)
	}
}

func TestUTF16(t *testing.T) {
	s := "[4892+00000001] [03/04/2021 20:49:58.30] [INFO] Starting RunCommand Extension v1\r\n"
	var b []byte
	b = append(b, 0xFF, 0xFE)
	for _, c := range s {
		b = append(b, byte(c), 0)
	}
	recs, f := parseAll(t, "x.log", string(b), true)
	if f != FormatWinPlugin || len(recs) != 1 || recs[0].Event != EvStart {
		t.Fatalf("%q %+v", f, recs)
	}
}

// event="executed command" holds no exit code: the record's ExitCode is
// NULL; the execution infers 0 and says so. A written exit status wins.
func TestExitCodeSource(t *testing.T) {
	const ok = `time=2023-04-07T04:09:21Z version=v2.1.3 operation=enable seq=0 event="executing command"
time=2023-04-07T04:09:22Z version=v2.1.3 operation=enable seq=0 event="executed command"
time=2023-04-07T04:09:30Z version=v2.1.3 operation=enable seq=1 event="executing command"
time=2023-04-07T04:09:31Z version=v2.1.3 operation=enable seq=1 event="failed to execute command" error="failed to execute command: command terminated with exit status=2"
`
	recs, _ := parseAll(t, "/var/log/azure/custom-script/handler.log", ok, true)
	if len(recs) != 4 || recs[1].Event != EvExecuted || recs[1].HasExitCode {
		t.Fatalf("executed command record: %+v", recs)
	}
	b := NewExecBuilder()
	b.StartFile("handler.log")
	for i := range recs {
		b.Add(&recs[i])
	}
	ex := b.Executions()
	if len(ex) != 2 {
		t.Fatalf("%d executions", len(ex))
	}
	r0, r1 := ex[0].Row(), ex[1].Row()
	if v, _ := r0.Get("ExitCode"); v != int64(0) {
		t.Errorf("seq 0 ExitCode %v", v)
	}
	if v, _ := r0.Get("ExitCodeSource"); v != ExitInferred {
		t.Errorf("seq 0 ExitCodeSource %v", v)
	}
	if v, _ := r1.Get("ExitCode"); v != int64(2) {
		t.Errorf("seq 1 ExitCode %v", v)
	}
	if v, _ := r1.Get("ExitCodeSource"); v != ExitLogged {
		t.Errorf("seq 1 ExitCodeSource %v", v)
	}
	if got := strings.Join(r0.Keys(), ","); got != strings.Join(ExecColumns, ",") {
		t.Errorf("columns %s", got)
	}
}
