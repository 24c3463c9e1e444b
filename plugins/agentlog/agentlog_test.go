package agentlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/logscan"
	"github.com/azvql/azvql/plugins/vqlkit"
	"github.com/azvql/azvql/tools/loggen/loggen"
	"www.velocidex.com/golang/vfilter"
)

// parse runs the assembler and row builder over text.
func parse(t testing.TB, text string, opt Options) []*ordereddict.Dict {
	t.Helper()
	var rows []*ordereddict.Dict
	rb := &RowBuilder{Redact: true}
	a := NewAssembler(opt, func(r *Record) bool {
		rows = append(rows, rb.Row(r))
		return true
	})
	if _, err := Scan(strings.NewReader(text), a); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return rows
}

// check compares the named columns of row with want (values as JSON).
func check(t *testing.T, name string, row *ordereddict.Dict, want map[string]any) {
	t.Helper()
	for k, w := range want {
		got, ok := row.Get(k)
		if !ok {
			t.Errorf("%s: no column %s", name, k)
			continue
		}
		if tm, ok := got.(time.Time); ok {
			got = tm.Format(time.RFC3339Nano)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("%s: %s = %s, want %s", name, k, gj, wj)
		}
	}
}

func TestColumnsInOrder(t *testing.T) {
	rows := parse(t, "2021-05-28T01:17:40.683072Z INFO ExtHandler Wire server endpoint:168.63.129.16\n", Options{})
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	if got := strings.Join(rows[0].Keys(), ","); got != strings.Join(Columns, ",") {
		t.Errorf("columns = %s\nwant      %s", got, strings.Join(Columns, ","))
	}
}

// Lines quoted in docs/formats.md §1.11 (one per era) and the issue/doc pastes it cites.
func TestEras(t *testing.T) {
	cases := []struct {
		name, line string
		want       map[string]any
	}{
		{"2.0 OSTC prefix",
			"2016/12/23 04:25:14 [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0] cwd is /var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0",
			map[string]any{"Line": 1, "Time": "2016-12-23T04:25:14Z", "Level": nil, "Thread": nil, "Tag": nil,
				"Handler": "Microsoft.OSTCExtensions.VMAccessForLinux", "HandlerVersion": "1.4.6.0", "ExtensionName": nil,
				"Message": "cwd is /var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0", "Era": "2.0", "Unparsed": false, "Pid": nil, "Host": nil}},
		{"2.0 warning",
			"2016/12/23 04:25:15 WARNING:[Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0] Failed to reset ssh",
			map[string]any{"Level": "WARNING", "Handler": "Microsoft.OSTCExtensions.VMAccessForLinux", "Message": "Failed to reset ssh", "Era": "2.0"}},
		{"2.0 error no handler",
			"2015/03/02 10:00:01 ERROR:Provisioning failed",
			map[string]any{"Level": "ERROR", "Handler": nil, "Message": "Provisioning failed", "Era": "2.0"}},
		{"2.0 no level written (issue 11: NULL, not INFO)",
			"2018/10/02 09:25:15 [Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9029] Enable started.",
			map[string]any{"Level": nil, "Era": "2.0", "Handler": "Microsoft.OSTCExtensions.LinuxDiagnostic", "Message": "Enable started."}},
		{"2.0 ERROR: prefix keeps its level",
			"2018/10/02 09:25:16 ERROR:[Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9029] Enable failed.",
			map[string]any{"Level": "ERROR", "Era": "2.0", "Message": "Enable failed."}},
		{"2.0 empty message",
			"2018/04/26 15:29:47",
			map[string]any{"Level": nil, "Message": "", "Era": "2.0", "Time": "2018-04-26T15:29:47Z"}},
		{"2.2.0-2.2.30 handler prefix",
			"2017/11/08 21:54:42.959541 INFO [Microsoft.Azure.Extensions.CustomScript-2.0.3] Target handler state: enabled",
			map[string]any{"Time": "2017-11-08T21:54:42.959541Z", "Level": "INFO", "Thread": nil, "Tag": nil,
				"Handler": "Microsoft.Azure.Extensions.CustomScript", "HandlerVersion": "2.0.3",
				"Message": "Target handler state: enabled", "Event": "HandlerState", "Era": "2.2.0-2.2.45"}},
		{"2.2.31-2.2.45 ExtHandler",
			"2020/01/22 19:35:48.810559 INFO ExtHandler Started extension using scope 'enable_1234.scope'",
			map[string]any{"Tag": "ExtHandler", "Thread": nil, "Handler": nil, "Message": "Started extension using scope 'enable_1234.scope'",
				"Event": "StartedScope", "Era": "2.2.0-2.2.45"}},
		{"2.2.31-2.2.45 Daemon",
			"2021/03/30 19:35:35.971742 INFO Daemon Azure Linux Agent Version:2.2.45",
			map[string]any{"Tag": "Daemon", "Message": "Azure Linux Agent Version:2.2.45", "Event": "AgentVersion", "Era": "2.2.0-2.2.45",
				"Time": "2021-03-30T19:35:35.971742Z"}},
		{"2.2.x older Event line",
			"2018/04/26 15:29:46.088212 INFO Event: name=Microsoft.OSTCExtensions.CustomScriptForLinux, op=Install, message=Launch command succeeded: customscript.py -install, duration=1005",
			map[string]any{"Tag": nil, "Handler": nil, "Event": "OperationResult", "Era": "2.2.0-2.2.45"}},
		{"2.2.x Install",
			"2018/04/26 15:29:45.051763 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Install extension [customscript.py -install]",
			map[string]any{"Handler": "Microsoft.OSTCExtensions.CustomScriptForLinux", "HandlerVersion": "1.5.2.2", "Event": "Install"}},
		{"2.2.x Update settings",
			"2018/04/26 15:29:45.022972 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Update settings file: 0.settings",
			map[string]any{"Event": "UpdateSettings", "SeqNo": 0}},
		{"2.2.46 ISO without thread",
			"2021-05-28T01:17:40.683072Z INFO ExtHandler Wire server endpoint:168.63.129.16",
			map[string]any{"Time": "2021-05-28T01:17:40.683072Z", "Level": "INFO", "Thread": nil, "Tag": "ExtHandler",
				"Message": "Wire server endpoint:168.63.129.16", "Era": "2.2.46", "Event": nil, "SeqNo": nil}},
		{">=2.2.47 thread and handler",
			"2022-04-19T15:38:20.087345Z INFO ExtHandler [Microsoft.Azure.Extensions.CustomScript-2.1.6] Executing command: /var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.6/bin/custom-script-shim enable",
			map[string]any{"Thread": "ExtHandler", "Tag": nil, "Handler": "Microsoft.Azure.Extensions.CustomScript", "HandlerVersion": "2.1.6",
				"Event": "Executing", "Era": "2.2.47+", "Env": nil}},
		{">=2.2.47 CGW",
			"2021-12-20T07:46:23.020197Z INFO ExtHandler ExtHandler [CGW] The agent's process is not within a memory cgroup",
			map[string]any{"Thread": "ExtHandler", "Tag": "CGW", "Message": "[CGW] The agent's process is not within a memory cgroup", "Era": "2.2.47+"}},
		{">=2.2.47 EnvHandler warning",
			"2021-07-29T04:40:17.190879Z WARNING EnvHandler ExtHandler Dhcp client is not running.",
			map[string]any{"Level": "WARNING", "Thread": "EnvHandler", "Tag": "ExtHandler", "Message": "Dhcp client is not running."}},
		{">=2.2.47 Daemon Daemon",
			"2023-05-24T18:04:27.467009Z WARNING Daemon Daemon Could not mount cgroups: [Errno 1] Operation not permitted: '/sys/fs/cgroup/cpu,cpuacct' -> '/sys/fs/cgroup/cpu'",
			map[string]any{"Thread": "Daemon", "Tag": "Daemon", "Era": "2.2.47+"}},
		{">=2.2.47 LogCollector",
			"2022-01-20T06:52:21.515447Z WARNING MainThread LogCollector Log Collector exited with code 1",
			map[string]any{"Thread": "MainThread", "Tag": "LogCollector", "Message": "Log Collector exited with code 1"}},
		{">=2.2.47 ERROR",
			"2022-08-16T01:50:10.759502Z ERROR ExtHandler ExtHandler Error fetching the goal state: [ProtocolError] GET vmSettings [correlation ID: e162f7c3-8d0c-4a9b-a987-8f9ec0699dae eTag: 9757461589808963322]: Timeout",
			map[string]any{"Level": "ERROR", "Thread": "ExtHandler", "Tag": "ExtHandler"}},
		{">=2.2.47 PERIODIC",
			"2024-05-02T10:41:09.100000Z INFO ExtHandler ExtHandler [PERIODIC] Log level is set to INFO",
			map[string]any{"Tag": "PERIODIC"}},
		{">=2.2.47 HandlerState Enable",
			"2024-05-02T10:11:09.603007Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] [Enable] current handler state is: enabled",
			map[string]any{"Event": "HandlerState", "Handler": "Microsoft.CPlat.Core.RunCommandLinux", "HandlerVersion": "1.0.5"}},
		{">=2.2.47 multi-config",
			"2024-05-02T10:11:09.603590Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.myRunCmd-1.3.5] Update settings file: myRunCmd.7.settings",
			map[string]any{"Handler": "Microsoft.CPlat.Core.RunCommandHandlerLinux", "ExtensionName": "myRunCmd", "HandlerVersion": "1.3.5",
				"Event": "UpdateSettings", "SeqNo": 7}},
		{"remove handler dir",
			"2024-05-02T11:00:00.000001Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Remove extension handler directory: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5",
			map[string]any{"Event": "RemoveHandlerDir"}},
		{"sas redacted",
			"2024-05-02T11:00:00.000001Z INFO ExtHandler ExtHandler Downloading https://a.blob.core.windows.net/c/x.zip?sv=2021-08-06&sr=b&sig=AbC%2Bdef%3D&se=2024",
			map[string]any{"Message": "Downloading https://a.blob.core.windows.net/c/x.zip?sv=2021-08-06&sr=b&sig=[REDACTED]&se=2024"}},
		// An OSTC handler logging the command it runs: the password on the
		// command line is redacted as in the handler logs.
		{"command-line password redacted",
			"2019/06/11 14:02:10 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.5] Command to execute:cmdkey /add:srv /user:backup /pass:Wint3r!Backup#7",
			map[string]any{"Message": "Command to execute:cmdkey /add:srv /user:backup /pass:[REDACTED]"}},
	}
	for _, c := range cases {
		rows := parse(t, c.line+"\n", Options{})
		if len(rows) != 1 {
			t.Errorf("%s: %d rows", c.name, len(rows))
			continue
		}
		check(t, c.name, rows[0], c.want)
	}
}

// The realistic >= 2.9 extension run of docs/formats.md §1.11.
const run29 = `2024-05-02T10:11:09.402188Z INFO ExtHandler ExtHandler Fetched new vmSettings [HostGAPlugin correlation ID: 6f1e0a3c-1111-2222-3333-444455556666 eTag: 4012345678901234567 source: FastTrack]
2024-05-02T10:11:09.517301Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState started [etag_4012345678901234567 channel: HostGAPlugin source: FastTrack activity: 9a1c correlation 2b7e created: 2024-05-02T10:11:03.441817Z]
2024-05-02T10:11:09.601220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Target handler state: enabled [etag_4012345678901234567]
2024-05-02T10:11:09.603007Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] [Enable] current handler state is: enabled
2024-05-02T10:11:09.603590Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Update settings file: 3.settings
2024-05-02T10:11:09.604004Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Requested extension state: enabled
2024-05-02T10:11:09.604712Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Enable extension: [bin/run-command-shim enable]
2024-05-02T10:11:09.606231Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-shim enable with environment variables: {"AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE": "NOT_RUN", "AZURE_GUEST_AGENT_EXTENSION_PATH": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5", "AZURE_GUEST_AGENT_EXTENSION_VERSION": "1.0.5", "AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "168.63.129.16", "ConfigSequenceNumber": "3", "AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES": "[{\"Key\": \"ExtensionTelemetryPipeline\", \"Value\": \"1.0\"}]"}
2024-05-02T10:11:09.611490Z INFO ExtHandler ExtHandler [CGI] Started extension in unit 'enable_5c6d8b0e-2f53-4b7b-9c8f-1c2d3e4f5a6b.scope'
2024-05-02T10:11:11.621844Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Command: bin/run-command-shim enable
[stdout]
Writing a placeholder status file indicating progress before forking: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/3.status
+ nohup /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-extension enable
[stderr]
Running scope as unit: enable_5c6d8b0e-2f53-4b7b-9c8f-1c2d3e4f5a6b.scope
2024-05-02T10:11:11.659014Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState completed [etag_4012345678901234567 2141 ms]

`

func TestExtensionRun(t *testing.T) {
	rows := parse(t, run29, Options{})
	if len(rows) != 11 {
		t.Fatalf("rows = %d, want 11", len(rows))
	}
	events := []string{}
	for _, r := range rows {
		e, _ := r.Get("Event")
		s, _ := e.(string)
		events = append(events, s)
	}
	want := "GoalState,GoalState,HandlerState,HandlerState,UpdateSettings,HandlerState,EnableExtension,Executing,StartedScope,Command,GoalState"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("events = %s\nwant     %s", got, want)
	}
	check(t, "executing", rows[7], map[string]any{"Line": 8, "SeqNo": 3, "Thread": "ExtHandler",
		"Handler": "Microsoft.CPlat.Core.RunCommandLinux"})
	env, _ := rows[7].Get("Env")
	d, ok := env.(*ordereddict.Dict)
	if !ok {
		t.Fatalf("Env = %T", env)
	}
	if v, _ := d.GetString("AZURE_GUEST_AGENT_EXTENSION_PATH"); v != "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5" {
		t.Errorf("Env path = %q", v)
	}
	if k := d.Keys(); k[0] != "AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE" || len(k) != 6 {
		t.Errorf("Env keys = %v", k)
	}
	check(t, "command", rows[9], map[string]any{"Line": 10, "Event": "Command", "Tag": nil,
		"Message": "Command: bin/run-command-shim enable\n[stdout]\nWriting a placeholder status file indicating progress before forking: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/3.status\n+ nohup /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-extension enable\n[stderr]\nRunning scope as unit: enable_5c6d8b0e-2f53-4b7b-9c8f-1c2d3e4f5a6b.scope"})
	// The completed line ends with "\n": its empty continuation line stays in the record.
	check(t, "completed", rows[10], map[string]any{"Line": 16, "Message": "ProcessExtensionsGoalState completed [etag_4012345678901234567 2141 ms]\n"})
	check(t, "cgi", rows[8], map[string]any{"Tag": "CGI", "Thread": "ExtHandler"})
}

// A multi-line record quoted in the agent's own e2e log parser.
func TestMultiLineException(t *testing.T) {
	text := "2021-07-09T01:46:53.307959Z INFO MonitorHandler ExtHandler [CGW] Disabling resource usage monitoring. Reason: Check on cgroups failed:\n" +
		"[CGroupsException] The agent's cgroup includes unexpected processes: ['[PID: 2367] UNKNOWN']\n" +
		"2021-07-09T01:46:54.000000Z INFO MonitorHandler ExtHandler next\n"
	rows := parse(t, text, Options{})
	if len(rows) != 2 {
		t.Fatalf("rows = %d", len(rows))
	}
	check(t, "cgw", rows[0], map[string]any{"Thread": "MonitorHandler", "Tag": "CGW", "Line": 1,
		"Message": "[CGW] Disabling resource usage monitoring. Reason: Check on cgroups failed:\n[CGroupsException] The agent's cgroup includes unexpected processes: ['[PID: 2367] UNKNOWN']"})
	check(t, "next", rows[1], map[string]any{"Line": 3})
}

// Real mixed 2.2.x + OSTC 2.0-style lines (CustomScriptForLinux doc paste, 2018).
func TestMixedOSTC(t *testing.T) {
	text := `2018/04/26 15:29:44.835067 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Target handler state: enabled
2018/04/26 15:29:44.867625 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] [Enable] current handler state is: notinstalled
2018/04/26 15:29:44.959605 INFO Event: name=Microsoft.OSTCExtensions.CustomScriptForLinux, op=Download, message=Download succeeded, duration=59
2018/04/26 15:29:44.993269 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Initialize extension directory
2018/04/26 15:29:45.022972 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Update settings file: 0.settings
2018/04/26 15:29:45.051763 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Install extension [customscript.py -install]
2018/04/26 15:29:45 CustomScriptForLinux started to handle.
2018/04/26 15:29:45 [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] cwd is /var/lib/waagent/Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2
2018/04/26 15:29:46.133367 INFO [Microsoft.OSTCExtensions.CustomScriptForLinux-1.5.2.2] Enable extension [customscript.py -enable]
2018/04/26 15:29:47 ---stdout---
2018/04/26 15:29:47
`
	rows := parse(t, text, Options{})
	if len(rows) != 11 {
		t.Fatalf("rows = %d", len(rows))
	}
	eras := []string{}
	evs := []string{}
	for _, r := range rows {
		e, _ := r.Get("Era")
		eras = append(eras, e.(string))
		v, _ := r.Get("Event")
		s, _ := v.(string)
		evs = append(evs, s)
	}
	if got := strings.Join(eras, ","); got != "2.2.0-2.2.45,2.2.0-2.2.45,2.2.0-2.2.45,2.2.0-2.2.45,2.2.0-2.2.45,2.2.0-2.2.45,2.0,2.0,2.2.0-2.2.45,2.0,2.0" {
		t.Errorf("eras = %s", got)
	}
	if got := strings.Join(evs, ","); got != "HandlerState,HandlerState,OperationResult,InitializeExtension,UpdateSettings,Install,,,EnableExtension,," {
		t.Errorf("events = %s", got)
	}
}

// OSTC handlers print their own 2.0-format log lines to stdout; inside a
// Command record of a later era they are output, not records.
func TestCommandOutputWithOldFormatLines(t *testing.T) {
	text := `2022-04-19T15:38:20.087345Z INFO ExtHandler [Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18] Command: vmaccess.py -enable
[stdout]
2022/04/19 15:38:19 VMAccess started to handle.
2022/04/19 15:38:19 [Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18] cwd is /var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18
[stderr]

2022-04-19T15:38:20.100000Z INFO ExtHandler ExtHandler next
2022/04/19 15:38:21 [Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18] written by the extension itself
`
	rows := parse(t, text, Options{})
	if len(rows) != 3 {
		t.Fatalf("rows = %d", len(rows))
	}
	check(t, "command", rows[0], map[string]any{"Event": "Command", "Line": 1,
		"Message": "Command: vmaccess.py -enable\n[stdout]\n2022/04/19 15:38:19 VMAccess started to handle.\n2022/04/19 15:38:19 [Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18] cwd is /var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.5.18\n[stderr]\n"})
	check(t, "next", rows[1], map[string]any{"Line": 7})
	check(t, "own 2.0 line", rows[2], map[string]any{"Line": 8, "Era": "2.0"})
}

func TestTimeZoneDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2019-03-10 02:00 EST -> 03:00 EDT; 2019-11-03 02:00 EDT -> 01:00 EST.
	text := "2019/03/10 01:59:59.500000 INFO ExtHandler before spring\n" +
		"2019/03/10 03:00:00.250000 INFO ExtHandler after spring\n" +
		"2019/11/02 23:00:00 [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.6.0] before fall\n" +
		"2019/11/03 03:00:00.000001 INFO ExtHandler after fall\n" +
		"2021-05-28T01:17:40.683072Z INFO ExtHandler UTC era ignores tz\n"
	rows := parse(t, text, Options{Loc: ny})
	want := []string{"2019-03-10T06:59:59.5Z", "2019-03-10T07:00:00.25Z", "2019-11-03T03:00:00Z", "2019-11-03T08:00:00.000001Z", "2021-05-28T01:17:40.683072Z"}
	for i, w := range want {
		check(t, fmt.Sprint("dst ", i), rows[i], map[string]any{"Time": w})
	}
}

func TestSyslog(t *testing.T) {
	text := `Oct 25 19:16:27 vmhostname systemd[1]: Started Azure Linux Agent.
Oct 25 19:16:28 vmhostname python3[1103]: 2021-10-25T19:16:28.553583Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-shim enable with environment variables: {"ConfigSequenceNumber": "4"}
Oct 25 19:16:30 vmhostname python3[1103]: 2021-10-25T19:16:30.000001Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Command: bin/run-command-shim enable
Oct 25 19:16:30 vmhostname python3[1103]: [stdout]
Oct 25 19:16:30 vmhostname python3[1103]: + nohup /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-extension enable
Oct 25 19:16:31 vmhostname kernel: [  12.345] eth0: link up
2024-05-02T10:11:12.123456+00:00 vm2 python3[2207]: 2024-05-02T10:11:12.120000Z INFO ExtHandler ExtHandler ProcessExtensionsGoalState started [incarnation_5]
2024-05-02T12:11:13.5+02:00 vm2 CRON[3000]: (root) CMD (true)
Dec 31 23:59:59 vmhostname systemd[1]: tick
Jan  1 00:00:01 vmhostname systemd[1]: tock
`
	rows := parse(t, text, Options{YearHint: 2021, MonthHint: 10})
	if len(rows) != 8 {
		for _, r := range rows {
			b, _ := json.Marshal(r)
			t.Log(string(b))
		}
		t.Fatalf("rows = %d", len(rows))
	}
	check(t, "systemd", rows[0], map[string]any{"Era": "syslog", "Host": "vmhostname", "Pid": 1, "Time": "2021-10-25T19:16:27Z",
		"Message": "systemd[1]: Started Azure Linux Agent.", "Level": nil})
	check(t, "wrapped", rows[1], map[string]any{"Era": "2.2.47+", "Host": "vmhostname", "Pid": 1103, "Time": "2021-10-25T19:16:28.553583Z",
		"Event": "Executing", "SeqNo": 4, "Line": 2})
	check(t, "wrapped multi-line", rows[2], map[string]any{"Event": "Command", "Line": 3,
		"Message": "Command: bin/run-command-shim enable\n[stdout]\n+ nohup /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-extension enable"})
	check(t, "kernel", rows[3], map[string]any{"Era": "syslog", "Pid": nil, "Message": "kernel: [  12.345] eth0: link up", "Line": 6})
	check(t, "rfc3339", rows[4], map[string]any{"Host": "vm2", "Pid": 2207, "Time": "2024-05-02T10:11:12.12Z", "Event": "GoalState"})
	check(t, "rfc3339 offset", rows[5], map[string]any{"Time": "2024-05-02T10:11:13.5Z", "Era": "syslog"})
	// The year comes from the latest agent timestamp (2024) and rolls over at New Year.
	check(t, "dec", rows[6], map[string]any{"Time": "2024-12-31T23:59:59Z"})
	check(t, "jan", rows[7], map[string]any{"Time": "2025-01-01T00:00:01Z"})
}

func TestUnparsedAndBinary(t *testing.T) {
	text := "garbage before any record\nmore garbage\n2021-05-28T01:17:40.683072Z INFO ExtHandler ok\n\x00\x00\x01\xff\xfe binary\ncontinuation\n"
	rows := parse(t, text, Options{})
	if len(rows) != 3 {
		t.Fatalf("rows = %d", len(rows))
	}
	check(t, "garbage", rows[0], map[string]any{"Unparsed": true, "Era": nil, "Line": 1, "Time": nil, "Level": nil,
		"Message": "garbage before any record\nmore garbage"})
	check(t, "ok", rows[1], map[string]any{"Unparsed": false, "Line": 3})
	check(t, "binary", rows[2], map[string]any{"Unparsed": true, "Line": 4, "Message": "\x00\x00\x01\ufffd binary\ncontinuation"})
}

// byteRepeater is an endless stream of one byte.
type byteRepeater byte

func (r byteRepeater) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// A 100 MB line is cut at the line cap and flagged, streamed without
// being buffered whole, and the next record is intact.
func TestHugeLine(t *testing.T) {
	in := io.MultiReader(
		strings.NewReader("2024-05-02T10:11:09.606231Z INFO ExtHandler ExtHandler "),
		io.LimitReader(byteRepeater('A'), 100<<20),
		strings.NewReader("\n2024-05-02T10:11:10.000000Z INFO ExtHandler ExtHandler after\n"))
	var recs []string
	var truncated []bool
	a := NewAssembler(Options{}, func(r *Record) bool {
		recs = append(recs, string(r.Msg))
		truncated = append(truncated, r.Truncated)
		return true
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Scan(in, a); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if len(recs) != 2 || !truncated[0] || truncated[1] || recs[1] != "after" {
		t.Fatalf("recs=%d truncated=%v", len(recs), truncated)
	}
	if len(recs[0]) > logscan.DefaultMaxLine {
		t.Errorf("kept %d bytes", len(recs[0]))
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Errorf("allocated %d MB for a 100 MB line", d>>20)
	}
}

func TestPluginReportsTruncationAndUnsupported(t *testing.T) {
	dir := t.TempDir()
	big := "2024-05-02T10:11:09.606231Z INFO ExtHandler ExtHandler " + strings.Repeat("B", 2<<20) + "\n"
	os.WriteFile(filepath.Join(dir, "big.log"), []byte(big), 0o644)
	rows, logs := runPlugin(t, fmt.Sprintf("filename='/big.log', root='%s'", dir))
	if len(rows) != 1 || len(logs) != 1 || !strings.Contains(logs[0], "/big.log: line 1: record truncated") {
		t.Errorf("rows=%d logs=%v", len(rows), logs)
	}
	os.WriteFile(filepath.Join(dir, "waagent.log.3.xz"), []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, 0o644)
	rows, logs = runPlugin(t, fmt.Sprintf("filename='/waagent.log.3.xz', root='%s'", dir))
	if len(rows) != 0 || len(logs) != 1 || !strings.Contains(logs[0], "xz") {
		t.Errorf("xz: rows=%d logs=%v", len(rows), logs)
	}
	os.WriteFile(filepath.Join(dir, "empty.log"), nil, 0o644)
	rows, logs = runPlugin(t, fmt.Sprintf("filename='/empty.log', root='%s'", dir))
	if len(rows) != 0 || len(logs) != 0 {
		t.Errorf("empty: rows=%d logs=%v", len(rows), logs)
	}
}

func TestRecordCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("2024-05-02T10:11:09.606231Z INFO ExtHandler ExtHandler Command: x\n")
	for i := 0; i < 100; i++ {
		b.WriteString(strings.Repeat("o", 99) + "\n")
	}
	n, bytesSeen := 0, 0
	a := NewAssembler(Options{MaxRecord: 1000}, func(r *Record) bool {
		n++
		bytesSeen += len(r.Msg)
		if len(r.Msg) > 1000 {
			t.Errorf("record of %d bytes", len(r.Msg))
		}
		return true
	})
	if _, err := Scan(strings.NewReader(b.String()), a); err != nil {
		t.Fatal(err)
	}
	if n < 10 || bytesSeen < 100*99 {
		t.Errorf("records=%d bytes=%d", n, bytesSeen)
	}
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// runPlugin runs azure_waagent_log through vfilter over a file.
func runPlugin(t testing.TB, args string) ([]*ordereddict.Dict, []string) {
	t.Helper()
	var logs bytes.Buffer
	scope := vfilter.NewScope()
	scope.SetLogger(newLogger(&logs))
	scope.AppendPlugins(WaagentLogPlugin{})
	q, err := vfilter.Parse("SELECT * FROM azure_waagent_log(" + args + ")")
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	for r := range q.Eval(context.Background(), scope) {
		d, ok := r.(*ordereddict.Dict)
		if !ok {
			t.Fatalf("row %T", r)
		}
		rows = append(rows, d)
	}
	scope.Close()
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return rows, lines
}

func TestPluginGzipRotation(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "var/log"), 0o755)
	// logrotate's dateext name; detection is by magic, not by name.
	os.WriteFile(filepath.Join(dir, "var/log/waagent.log-2024-05-02-1714644669.gz"), gz(t, run29), 0o644)
	os.WriteFile(filepath.Join(dir, "var/log/waagent.log.1"), gz(t, run29), 0o644)
	for _, name := range []string{"waagent.log-2024-05-02-1714644669.gz", "waagent.log.1"} {
		rows, logs := runPlugin(t, fmt.Sprintf("filename='/var/log/%s', root='%s'", name, dir))
		if len(rows) != 11 || len(logs) != 0 {
			t.Errorf("%s: rows=%d logs=%v", name, len(rows), logs)
		}
	}
}

func TestPluginBzip2Rotation(t *testing.T) {
	bz, err := exec.LookPath("bzip2")
	if err != nil {
		t.Skip("no bzip2 command to make the test file")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "waagent.log.4")
	os.WriteFile(p, []byte(run29), 0o644)
	if out, err := exec.Command(bz, "-k", p).CombinedOutput(); err != nil {
		t.Fatalf("bzip2: %v %s", err, out)
	}
	rows, logs := runPlugin(t, fmt.Sprintf("filename='/waagent.log.4.bz2', root='%s'", dir))
	if len(rows) != 11 || len(logs) != 0 {
		t.Errorf("rows=%d logs=%v", len(rows), logs)
	}
}

func TestPluginTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "2024-05-02T10:%02d:%02d.000000Z INFO ExtHandler ExtHandler line %d of a log that gzip truncates %x\n", (i/60)%60, i%60, i, i*7919)
	}
	data := gz(t, b.String())
	os.WriteFile(filepath.Join(dir, "waagent.log.2.gz"), data[:len(data)/2], 0o644)
	rows, logs := runPlugin(t, fmt.Sprintf("filename='/waagent.log.2.gz', root='%s'", dir))
	if len(rows) == 0 || len(rows) >= 5000 {
		t.Errorf("rows = %d", len(rows))
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "/waagent.log.2.gz") || !strings.Contains(logs[0], "ends early") {
		t.Errorf("logs = %v", logs)
	}
	// Rows read before the damage are intact and in order.
	for i, r := range rows[:len(rows)-1] {
		if l, _ := r.Get("Line"); l != int64(i+1) {
			t.Fatalf("row %d Line %v", i, l)
		}
	}
}

func TestPluginArgs(t *testing.T) {
	dir := t.TempDir()
	text := "2019/11/03 01:30:00.000000 INFO ExtHandler x https://a/b?sv=1&sig=SECRET\n"
	os.WriteFile(filepath.Join(dir, "waagent.log"), []byte(text), 0o644)
	rows, _ := runPlugin(t, fmt.Sprintf("filename='/waagent.log', root='%s', tz='America/Chicago', redact=false", dir))
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	check(t, "noredact", rows[0], map[string]any{"Message": "x https://a/b?sv=1&sig=SECRET"})
	if tm, _ := rows[0].Get("Time"); tm.(time.Time).Hour() != 6 && tm.(time.Time).Hour() != 7 {
		t.Errorf("time %v", tm)
	}
	rows, _ = runPlugin(t, fmt.Sprintf("filename='/waagent.log', root='%s'", dir))
	check(t, "redact", rows[0], map[string]any{"Message": "x https://a/b?sv=1&sig=[REDACTED]", "Time": "2019-11-03T01:30:00Z"})
	_, logs := runPlugin(t, fmt.Sprintf("filename='/nope.log', root='%s'", dir))
	if len(logs) != 1 || !strings.Contains(logs[0], "/nope.log") {
		t.Errorf("missing file logs = %v", logs)
	}
	_, logs = runPlugin(t, fmt.Sprintf("filename='/waagent.log', root='%s', tz='Mars/Olympus'", dir))
	if len(logs) != 1 || !strings.Contains(logs[0], "Mars/Olympus") {
		t.Errorf("bad tz logs = %v", logs)
	}
}

// The shared fixture tree, when another engineer has written it.
func TestFixtureWaagentLog(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "tests", "fixtures", "linux")
	if _, err := os.Stat(filepath.Join(root, "var", "log", "waagent.log")); err != nil {
		t.Skip("tests/fixtures/linux/var/log/waagent.log not present yet")
	}
	rows, logs := runPlugin(t, fmt.Sprintf("filename='/var/log/waagent.log', root='%s'", root))
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	if len(logs) != 0 {
		t.Errorf("logs: %v", logs)
	}
	unparsed, executing := 0, 0
	for _, r := range rows {
		if u, _ := r.Get("Unparsed"); u == true {
			unparsed++
		}
		if e, _ := r.Get("Event"); e == EvExecuting {
			executing++
		}
		if tm, _ := r.Get("Time"); tm == nil {
			if u, _ := r.Get("Unparsed"); u != true {
				t.Errorf("row without time: %v", r)
			}
		}
	}
	t.Logf("fixture: %d rows, %d unparsed, %d Executing", len(rows), unparsed, executing)
	if unparsed != 0 {
		t.Errorf("%d unparsed rows in the fixture", unparsed)
	}
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }

// Summary holds the values Row puts in the same columns, on every record
// of the fuzz seeds (every era, syslog, env dicts flat and not).
func TestSummaryMatchesRow(t *testing.T) {
	for _, red := range []bool{true, false} {
		rb := &RowBuilder{Redact: red}
		n := 0
		for _, seed := range append(fuzzSeeds, `2024-05-02T10:11:09.701220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.x-1.3.9] Executing command: /bin/x enable with environment variables: {"ConfigSequenceNumber": 5, "ConfigExtensionName": "y"}`,
			`2024-05-02T10:11:09.701220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9] Executing command: /bin/x enable with environment variables: {"ConfigSequenceNumber": "5", "ConfigExtensionName": "y", "ConfigExtensionName": "z", "PASSWORD": "p"}`) {
			a := NewAssembler(Options{}, func(r *Record) bool {
				row := rb.Row(r)
				s := rb.Summary(r)
				get := func(k string) string { v, _ := row.GetString(k); return v }
				seq, hasSeq := row.GetInt64("SeqNo")
				if s.Level != get("Level") || s.Handler != get("Handler") || s.HandlerVersion != get("HandlerVersion") ||
					s.ExtensionName != get("ExtensionName") || s.Event != get("Event") || s.HasSeqNo != hasSeq || s.SeqNo != seq && hasSeq ||
					rb.Message(r) != get("Message") || r.HasHandler() != (get("Handler") != "") {
					t.Fatalf("Summary %+v (message %q) for row %v", s, rb.Message(r), row)
				}
				n++
				return true
			})
			Scan(strings.NewReader(seed), a)
		}
		if n < 20 {
			t.Fatalf("only %d records", n)
		}
	}
}

// The plugin's keeper (the handler regex remembered per handler name)
// keeps the records Keep keeps.
func TestKeeperMatchesKeep(t *testing.T) {
	for _, fa := range []vqlkit.FilterArgs{{HandlerRegex: "RunCommand"}, {HandlerRegex: "^Microsoft\\.OSTC", Levels: "ERROR"},
		{HandlerRegex: ".", Events: []any{"Executing", "Command"}}, {After: "2021-01-01T00:00:00Z", HandlerRegex: "x"}} {
		f, err := vqlkit.NewRecordFilter(fa)
		if err != nil {
			t.Fatal(err)
		}
		k := newKeeper(f)
		kept, n := 0, 0
		var gen bytes.Buffer
		if _, err := loggen.Generate(&gen, 1<<20, 3); err != nil {
			t.Fatal(err)
		}
		for _, seed := range append(fuzzSeeds, gen.String()) {
			a := NewAssembler(Options{}, func(r *Record) bool {
				if got, want := k.keep(r), Keep(f, r); got != want {
					t.Fatalf("%+v: keeper %v, Keep %v for line %d %q", fa, got, want, r.Line, r.Msg)
				} else if got {
					kept++
				}
				n++
				return true
			})
			Scan(strings.NewReader(seed), a)
		}
		t.Logf("%+v: %d of %d kept", fa, kept, n)
	}
}

// TestInternerKeepsNoLongString: a string over maxInternedLen (a hostile
// host or handler name) is neither in the map nor in a recent slot, so
// what the interner holds stays bounded whatever the log.
func TestInternerKeepsNoLongString(t *testing.T) {
	in := newInterner()
	long := []byte(strings.Repeat("h", maxInternedLen+1))
	if got := in.get(long); got == nil || got.s != string(long) {
		t.Fatalf("get(long) = %v", got)
	}
	if len(in.m) != 0 {
		t.Errorf("map holds %d strings", len(in.m))
	}
	for i, s := range in.recent {
		if s != nil && len(s.s) > maxInternedLen {
			t.Errorf("slot %d holds a %d-byte string", i, len(s.s))
		}
	}
	short := []byte("ExtHandler")
	if a, b := in.get(short), in.get(short); a != b {
		t.Error("a short string is not interned")
	}
}
