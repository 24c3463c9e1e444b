package handlerlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/azvql/azvql/plugins/vqlkit"
	"github.com/azvql/azvql/tools/loggen/loggen"
)

// execFields are the fields of a record ExecBuilder reads.
type execFields struct {
	Line                                                          int64
	Time                                                          string
	Level, Handler, Version, ExtensionName, Event, Operation, Err string
	Pid, SeqNo, ExitCode                                          int64
	HasExitCode, Unparsed                                         bool
	Status                                                        string
}

func execView(r *Record) execFields {
	v := execFields{Line: r.Line, Time: r.Time.String(), Level: r.Level, Handler: r.Handler, Version: r.Version,
		ExtensionName: r.ExtensionName, Event: r.Event, Operation: r.Operation, Err: r.Error, Pid: r.Pid,
		SeqNo: r.SeqNo, ExitCode: r.ExitCode, HasExitCode: r.HasExitCode, Unparsed: r.Unparsed}
	if r.Fields != nil {
		v.Status, _ = r.Fields.GetString("status")
	}
	return v
}

// readModes reads data as a waagent-format log both ways: the records
// (and executions) ExecBuilder gets with ExecOnly, and those it gets
// from the full rows.
func readModes(data []byte, name string, red bool) (full, lean []execFields, fullRows, leanRows string) {
	for _, execOnly := range []bool{false, true} {
		var got []execFields
		eb := NewExecBuilder()
		eb.StartFile(name)
		Read(context.Background(), bytes.NewReader(data), Options{Format: FormatWaagent, Name: name, Redact: red, ExecOnly: execOnly,
			MaxLine: 512, MaxRecord: 4096}, func(string) {},
			func(r *Record) bool {
				eb.Add(r)
				if r.Handler != "" {
					got = append(got, execView(r))
				}
				return true
			})
		var rows strings.Builder
		for _, e := range eb.Executions() {
			rows.WriteString(e.Row().String() + "\n")
		}
		if execOnly {
			lean, leanRows = got, rows.String()
		} else {
			full, fullRows = got, rows.String()
		}
	}
	return
}

func checkModes(t *testing.T, data []byte, name string) int {
	t.Helper()
	n := 0
	for _, red := range []bool{true, false} {
		full, lean, fullRows, leanRows := readModes(data, name, red)
		if !reflect.DeepEqual(full, lean) {
			for i := 0; i < len(full) || i < len(lean); i++ {
				var a, b any
				if i < len(full) {
					a = full[i]
				}
				if i < len(lean) {
					b = lean[i]
				}
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("%s (redact %v): record %d differs:\nrows:     %+v\nExecOnly: %+v", name, red, i, a, b)
				}
			}
		}
		if fullRows != leanRows {
			t.Fatalf("%s (redact %v): executions differ:\nrows:\n%s\nExecOnly:\n%s", name, red, fullRows, leanRows)
		}
		n = len(full)
	}
	return n
}

// agentSample has what ExecOnly must get right without the rows: exit
// codes (in a handler's record and in the agent's, where the command's
// path names the handler), ERROR records, a 2.0-era OSTC status line,
// Executing records with an operation and secrets, syslog-wrapped
// lines and unparsed text.
const agentSample = `garbage before the first record
2016/12/23 04:25:14 [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1] sequence number is 3
2016/12/23 04:25:16 [Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1] Enable,success,0,Enable succeeded
2016/12/23 04:25:17 ERROR:[Microsoft.OSTCExtensions.VMAccessForLinux-1.4.7.1] Daemon,failed,1,script failed
2024-05-02T10:11:09.601220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Target handler state: enabled [incarnation_5]
2024-05-02T10:11:09.601220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Update settings file: 5.settings
2024-05-02T10:11:09.701220Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-shim enable with environment variables: {"ConfigSequenceNumber": "5", "PASSWORD": "hunter2"}
2024-05-02T10:11:10.000001Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Command: bin/run-command-shim enable
[stdout]
mysql -u root --password=S3cret db; echo exit code 3
[stderr]

2024-05-02T10:11:11.000001Z ERROR ExtHandler ExtHandler [ExtensionError] Non-zero exit code: 1, /var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/bin/custom-script-shim enable
2024-05-02T10:11:12.000001Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.beacon-1.3.9] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9/bin/run-command-handler-shim disable with environment variables: {"ConfigSequenceNumber": "2", "ConfigExtensionName": "beacon"}
2024-05-02T10:11:13.000001Z WARNING ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.beacon-1.3.9] Exit code: 0 sig=AbC%2Bdef%3D
2024-05-02T10:11:14.000001Z ERROR ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.beacon-1.3.9] Enable failed: token=abc exit code: 7
2024-05-02T10:11:14.500001Z ERROR ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.beacon-1.3.9] Enable failed: could not start
2024-05-02T10:11:15.000001Z INFO ExtHandler ExtHandler Executing command: /bin/true with environment variables: {"ConfigExtensionName": "orphan", "ConfigSequenceNumber": "9"}
Oct 25 19:16:28 vmhostname python3[1103]: 2021-10-25T19:16:28.553583Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-shim enable with environment variables: {"ConfigSequenceNumber": "4"}
Oct 25 19:16:30 vmhostname python3[1103]: 2021-10-25T19:16:30.000001Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Command: bin/run-command-shim enable
Oct 25 19:16:30 vmhostname python3[1103]: exit code 2
Oct 25 19:16:31 vmhostname systemd[1]: Started Session 5 exit code 1.
`

// TestExecRecordMatchesRow: azure_log_executions reads waagent-format
// logs with ExecOnly (no rows built); ExecBuilder gets the same values
// from those records as from the rows, and builds the same executions:
// on the sample above, every waagent-format log of the fixtures (as
// themselves and under another log's path, where the path names a
// handler) and a generated waagent.log.
func TestExecRecordMatchesRow(t *testing.T) {
	if n := checkModes(t, []byte(agentSample), "/var/log/waagent.log"); n < 12 {
		t.Fatalf("sample: %d records of a handler", n)
	}
	checkModes(t, []byte(agentSample), "/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux/CommandExecution.log")
	var paths []string
	for _, g := range []string{"../../tests/fixtures/*/var/log/waagent.log*", "../../tests/fixtures/*/var/log/azure/*/CommandExecution*.log",
		"../../tests/fixtures/*/var/log/syslog*", "../../tests/fixtures/*/var/log/messages*"} {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	if len(paths) < 5 {
		t.Fatalf("only %d fixture logs", len(paths))
	}
	total := 0
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ev := p[strings.Index(p, "/var/"):]
		total += checkModes(t, data, ev)
		checkModes(t, data, "/var/log/waagent.log")
	}
	var gen bytes.Buffer
	if _, err := loggen.Generate(&gen, 2<<20, 7); err != nil {
		t.Fatal(err)
	}
	n := checkModes(t, gen.Bytes(), "/var/log/waagent.log")
	t.Logf("%d fixture logs: %d records of a handler; generated 2 MiB: %d", len(paths), total, n)
}

// FuzzExecRecord: ExecOnly and the rows agree on any input.
func FuzzExecRecord(f *testing.F) {
	f.Add([]byte(agentSample), true)
	for _, b := range fixtureLogs(f) {
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, hinted bool) {
		name := "/var/log/waagent.log"
		if hinted {
			name = "/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux/CommandExecution.log"
		}
		checkModes(t, data, name)
	})
}

// TestExecutingOp: the operation of an Executing record is the last
// word of its command (before the environment and the first line's
// end), in any case strings.ToLower folds; anything else is none.
func TestExecutingOp(t *testing.T) {
	for m, want := range map[string]string{
		"Executing command: /var/lib/waagent/X-1.0/bin/shim enable with environment variables: {\"a\": \"uninstall\"}": "enable",
		"Executing command: /var/lib/waagent/X-1.0/bin/shim DISABLE with environment variables: {}":                    "disable",
		"Launch command: [/var/lib/waagent/X-1.0/scripts/run.sh -Uninstall]":                                           "",
		"Launch command: /var/lib/waagent/X-1.0/scripts/run.sh -Uninstall":                                             "uninstall",
		"Executing command: shim update \nwith environment variables: {}":                                              "update",
		"Executing command: shim install\n[stdout]\nenable":                                                            "install",
		"Executing command: shim enabled with environment variables: {}":                                               "",
		"Executing command: shim \u212anable":                                                                          "",        // K (Kelvin) does not lower to e
		"Executing command: shim \u0130NSTALL with environment variables: {}":                                          "install", // U+0130 lowers to i, as strings.ToLower has it
		"Executing command: mysql --password=enable":                                                                   "",
		"Executing command: sshpass -p hunter2 enable with environment variables: {\"PASSWORD\": \"x\"}":               "enable",
		"enable":         "",
		"Executing cmd:": "",
	} {
		if got := executingOp([]byte(m)); got != want {
			t.Errorf("executingOp(%q) = %q, want %q", m, got, want)
		}
	}
}

// TestExecutingOpRedacted: where redaction puts [REDACTED] in the
// operation's place, the operation is not read from the secret, in
// either mode, and the state carries the earlier operation on.
func TestExecutingOpRedacted(t *testing.T) {
	log := "2024-03-01T10:00:00.000000Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Enable extension [bin/run-command-shim enable]\n" +
		"2024-03-01T10:00:01.000000Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandLinux-1.0.5] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/run-command-shim --password disable with environment variables: {\"ConfigSequenceNumber\": \"3\"}\n"
	for _, red := range []bool{true, false} {
		full, lean, _, _ := readModes([]byte(log), "waagent.log", red)
		want := "enable"
		if !red {
			want = "disable" // shown as logged: the analyst asked for secrets
		}
		for _, got := range [][]execFields{full, lean} {
			if len(got) != 2 || got[1].Operation != want {
				t.Errorf("redact=%v: records %+v, want the Executing record's Operation %q", red, got, want)
			}
		}
	}
}

// TestKeepPreEpochStarted: a Started at or before the epoch is false to
// VQL, so `Started || LastSeen` is LastSeen, and the window is applied
// to it, as the artifacts' InDateRange did.
func TestKeepPreEpochStarted(t *testing.T) {
	f, err := vqlkit.NewRecordFilter(vqlkit.FilterArgs{After: "2025-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	e := &Execution{Handler: "Microsoft.CPlat.Core.RunCommandLinux",
		Started:  time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
		LastSeen: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	if !e.keep(f) {
		t.Error("an execution last seen in 2025 with a 1960 Started was dropped by after=2025-01-01")
	}
	e.LastSeen = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	if e.keep(f) {
		t.Error("an execution last seen in 2024 with a 1960 Started was kept by after=2025-01-01")
	}
}
