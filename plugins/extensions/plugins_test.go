package extensions

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExecutionsPlugin(t *testing.T) {
	root := scenarioTree(t)
	rows, logs := runVQL(t, "SELECT * FROM azure_run_executions(root=Root)", map[string]any{"Root": root})
	if len(rows) != 7 {
		t.Fatalf("rows: %d\n%s", len(rows), logs)
	}
	bySeq := map[int64]map[string]any{}
	for i, r := range rows {
		s := num(r["SeqNo"]).(int64)
		if s != int64(i) {
			t.Errorf("row %d has SeqNo %d: not sorted", i, s)
		}
		bySeq[s] = r
		check(t, "common", r, map[string]any{"OS": "Linux", "Kind": "RunCommand", "Handler": "Microsoft.CPlat.Core.RunCommandLinux", "ExtensionName": nil})
	}
	dl := "/var/lib/waagent/run-command/download/"
	check(t, "seq0", bySeq[0], map[string]any{
		"HandlerVersion": "1.0.5", "Command": "#!/bin/sh\nid\n", "CommandSource": "script",
		"ScriptPath": dl + "0/script.sh", "ScriptSHA256": "8d7e8a1b9f1d47ed5dc2ba8f5a8f3e7bb3c3bbb1d19a4d1c4ba8bc2b5cf47b9f"[:0] + sha("#!/bin/sh\nid\n"),
		"StdOut": "uid=0(root)\n", "StdOutTruncated": false, "StdErr": "", "OutputSource": "files",
		"Status": "success", "ExitCode": nil, "Protected": true,
		"Started": "2024-05-02T10:00:02Z", "StartedSource": "script.mtime",
		"Finished": "2024-05-02T10:00:05Z", "FinishedSource": "status.timestamp",
		"Running": false, "MostRecent": false, "WorkingDir": dl + "0",
		"SettingsPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings",
		"StatusPath":   "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/0.status",
		"Files":        "[]",
	})
	check(t, "seq1", bySeq[1], map[string]any{
		"Command": "sh payload.sh; exit 1", "CommandSource": "settings", "ScriptPath": nil,
		"StdOut": "payload ran\n", "StdErr": "warning: x\n", "Status": "success", "Protected": false,
		"Started": "2024-05-02T10:10:03Z", "StartedSource": "download.mtime",
		"FileUris": "[" + strings.Replace(sasURL, "Qm9ndXNTaWduYXR1cmU%3D", "[REDACTED]", 1) + "]",
	})
	files1 := bySeq[1]["Files"].([]any)
	if len(files1) != 1 || files1[0].(map[string]any)["Name"] != "payload.sh" || files1[0].(map[string]any)["SHA256"] != sha("echo payload ran\n") {
		t.Errorf("seq1 files: %v", files1)
	}
	check(t, "seq2", bySeq[2], map[string]any{
		"Command": nil, "CommandSource": nil, "ScriptPath": nil, "ScriptSHA256": nil, "StdOut": "", "Status": "success",
		"Finished": "2024-05-02T10:20:07Z",
	})
	var names []string
	for _, f := range bySeq[2]["Files"].([]any) {
		m := f.(map[string]any)
		names = append(names, m["Name"].(string))
		if m["Name"] == "passwd" && m["SHA256"] != nil {
			t.Errorf("symlink followed: %v", m)
		}
		if m["Name"] == ".cache" {
			check(t, "seq2 .cache", m, map[string]any{"OSPath": dl + "2/.cache", "Size": int64(7), "SHA256": sha("dropped"), "Mtime": "2024-05-02T10:20:05Z"})
		}
	}
	if strings.Join(names, ",") != ".cache,loop,passwd,sub/inner.bin" {
		t.Errorf("seq2 files: %v", names)
	}
	check(t, "seq3", bySeq[3], map[string]any{
		"Command": "sleep 3600\n", "CommandSource": "settings", "Status": "transitioning", "Running": true, "Pid": int64(4242), "MostRecent": true,
		"Started": "2024-05-02T10:40:01Z", "StartedSource": "status.placeholder", "Finished": nil, "FinishedSource": nil,
	})
	check(t, "seq4", bySeq[4], map[string]any{"Command": nil, "Status": nil, "WorkingDir": nil, "Files": nil, "StatusPath": nil, "Protected": nil})
	check(t, "seq5", bySeq[5], map[string]any{"HandlerVersion": nil, "SettingsPath": nil, "StdOut": "orphan\n", "Finished": "2024-05-02T11:10:00Z", "FinishedSource": "output.mtime", "Started": nil})
	check(t, "seq6", bySeq[6], map[string]any{"Protected": nil, "Status": "error", "ExitCode": int64(3), "StdOut": "hello\n", "OutputSource": "status", "Started": nil,
		"Finished": "2024-05-02T10:11:15Z", "FinishedSource": "status.timestamp"})
	if !strings.Contains(logs, "config/4.settings: truncated JSON") {
		t.Errorf("no log line for the garbage settings:\n%s", logs)
	}
	if strings.Contains(logs, "no such file") {
		t.Errorf("absent files logged:\n%s", logs)
	}

	// redact=false shows the signature.
	rows, _ = runVQL(t, "SELECT FileUris FROM azure_run_executions(root=Root, redact=false) WHERE SeqNo = 1", map[string]any{"Root": root})
	if len(rows) != 1 || !strings.Contains(rows[0]["FileUris"].([]any)[0].(string), "sig=Qm9ndXNTaWduYXR1cmU%3D") {
		t.Errorf("redact=false: %v", rows)
	}

	keysInOrder(t, "SELECT * FROM azure_run_executions(root=Root)", map[string]any{"Root": root}, []string{
		"OS", "Kind", "Handler", "HandlerVersion", "ExtensionName", "SeqNo", "Command", "CommandSource", "ScriptPath", "ScriptSHA256",
		"StdOut", "StdOutTruncated", "StdErr", "StdErrTruncated", "OutputSource", "Status", "ExitCode", "Started", "StartedSource",
		"Finished", "FinishedSource", "Running", "Pid", "MostRecent", "Protected", "ProtectedSettingsDecrypted", "DecryptError",
		"FileUris", "WorkingDir", "Files", "SettingsPath", "StatusPath", "StatusLeftovers", "ExecutionState", "RunAsUser", "SettingsMtime",
		"SettingsEmpty", "GoalState", "RelatedPaths"})
}

func TestExecutionsUnreadable(t *testing.T) {
	root := scenarioTree(t)
	rows, logs := runVQL(t, "SELECT * FROM azure_run_executions(root=Root, accessor='test_failopen')", map[string]any{"Root": root})
	if len(rows) != 7 {
		t.Fatalf("rows %d", len(rows))
	}
	for _, want := range []string{"config/1.settings: open", "status/2.status: open", "download/0/stdout: open"} {
		if !strings.Contains(logs, want) || !strings.Contains(logs, "permission denied") {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// The row survives with what could be read.
	check(t, "seq1", rows[1], map[string]any{"Command": nil, "SettingsPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/1.settings", "StdOut": "payload ran\n"})
	check(t, "seq2", rows[2], map[string]any{"Status": nil, "StatusPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/2.status"})
	check(t, "seq0", rows[0], map[string]any{"StdOut": nil, "StdErr": "", "OutputSource": "files"})
	if !strings.Contains(logs, "azure_run_executions: ") {
		t.Errorf("log lines do not name the plugin:\n%s", logs)
	}
}

func TestHandlersPlugin(t *testing.T) {
	root := scenarioTree(t)
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_handlers(root=Root)", map[string]any{"Root": root})
	if len(rows) != 1 {
		t.Fatalf("rows %v\n%s", rows, logs)
	}
	check(t, "handler", rows[0], map[string]any{
		"OS": "Linux", "Handler": "Microsoft.CPlat.Core.RunCommandLinux", "Version": "1.0.5",
		"OSPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5", "State": "Enabled",
		"MostRecentSeq": int64(3), "Running": true, "Pid": int64(4242), "PidStart": "Thu May  2 10:40:01 2024",
		"SettingsCount": int64(6), "StatusCount": int64(5),
	})
	if hs := rows[0]["HandlerStatus"].(map[string]any); hs["status"] != "Ready" {
		t.Errorf("HandlerStatus %v", hs)
	}
	if m := rows[0]["Manifest"].(map[string]any); m["enableCommand"] != "bin/run-command-shim enable" {
		t.Errorf("Manifest %v", m)
	}
	if e := rows[0]["Environment"].(map[string]any); e["logFolder"] != "/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux" {
		t.Errorf("Environment %v", e)
	}
	keysInOrder(t, "SELECT * FROM azure_extension_handlers(root=Root)", map[string]any{"Root": root}, []string{
		"OS", "Handler", "Version", "OSPath", "State", "HandlerStatus", "MostRecentSeq", "Running", "Pid", "PidStart",
		"Manifest", "Environment", "SettingsCount", "StatusCount", "Mtime"})

	// An empty tree gives no rows and one warning (issue 12: is this the
	// VM's root?); a missing root is an error naming it.
	empty := t.TempDir()
	rows, logs = runVQL(t, "SELECT * FROM azure_extension_handlers(root=Root)", map[string]any{"Root": empty})
	if len(rows) != 0 || !strings.HasPrefix(logs, "WARN:azure_extension_handlers: ") || !strings.Contains(logs, "is this the root") || strings.Count(logs, "\n") != 1 {
		t.Errorf("empty tree: %v %q", rows, logs)
	}
	rows, logs = runVQL(t, "SELECT * FROM azure_extension_handlers(root=Root)", map[string]any{"Root": empty + "/nonexistent"})
	if len(rows) != 0 || !strings.HasPrefix(logs, "ERROR:azure_extension_handlers: ") || !strings.Contains(logs, "nonexistent\": does not exist") {
		t.Errorf("missing root: %v %q", rows, logs)
	}
}

func TestSettingsPlugin(t *testing.T) {
	root := scenarioTree(t)
	cfg := filepath.Join(root, rc1, "config")
	q := "SELECT * FROM foreach(row={SELECT * FROM Files}, query={SELECT * FROM azure_extension_settings(filename=F, root=Root)})"
	_ = q
	files := []any{}
	for _, n := range []string{"0.settings", "1.settings", "3.settings", "4.settings", "6.settings"} {
		files = append(files, filepath.Join(cfg, n))
	}
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_settings(filename=Files, root=Root)", map[string]any{"Root": root, "Files": files})
	if len(rows) != 5 {
		t.Fatalf("rows %d\n%s", len(rows), logs)
	}
	base := "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/"
	check(t, "0", rows[0], map[string]any{"OSPath": base + "0.settings", "Handler": "Microsoft.CPlat.Core.RunCommandLinux", "HandlerVersion": "1.0.5",
		"ExtensionName": nil, "SeqNo": int64(0), "Thumbprint": "010F03CA0562E782EF60F02376591592CF2101F4", "Protected": true, "Command": nil,
		"Empty": false, "Encoding": "utf-8", "ParseError": nil, "Mtime": "2024-05-02T10:00:00Z"})
	if !strings.HasPrefix(rows[0]["ProtectedSettings"].(string), "MIIB") {
		t.Errorf("ciphertext: %v", rows[0]["ProtectedSettings"])
	}
	check(t, "1", rows[1], map[string]any{"Command": "sh payload.sh; exit 1", "CommandField": "commandToExecute", "Protected": false,
		"FileUris": "[" + strings.Replace(sasURL, "Qm9ndXNTaWduYXR1cmU%3D", "[REDACTED]", 1) + "]"})
	pub := rows[1]["PublicSettings"].(map[string]any)
	if u := pub["fileUris"].([]any)[0].(string); !strings.HasSuffix(u, "sig=[REDACTED]") {
		t.Errorf("public settings not redacted: %v", u)
	}
	check(t, "3", rows[2], map[string]any{"Command": "sleep 3600\n", "CommandField": "script"})
	check(t, "4", rows[3], map[string]any{"SeqNo": int64(4), "Protected": nil, "ParseError": "truncated JSON (ends at offset 42)"})
	check(t, "6", rows[4], map[string]any{"Empty": true, "Size": int64(0), "ParseError": nil, "Protected": false, "Mtime": "2024-05-02T11:20:00Z"})
	if !strings.Contains(logs, "azure_extension_settings: "+base+"4.settings: truncated JSON") {
		t.Errorf("log: %s", logs)
	}

	// Without root, OSPath is the filename; unreadable files give a row and a log line.
	rows, logs = runVQL(t, "SELECT OSPath, ParseError FROM azure_extension_settings(filename=F, accessor='test_failopen')",
		map[string]any{"F": filepath.Join(cfg, "1.settings")})
	if len(rows) != 1 || rows[0]["OSPath"] != filepath.Join(cfg, "1.settings") || !strings.Contains(rows[0]["ParseError"].(string), "permission denied") {
		t.Errorf("unreadable: %v", rows)
	}
	if !strings.Contains(logs, "permission denied") {
		t.Errorf("unreadable log: %s", logs)
	}
	keysInOrder(t, "SELECT * FROM azure_extension_settings(filename=F)", map[string]any{"F": filepath.Join(cfg, "1.settings")}, []string{
		"OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo", "Thumbprint", "Protected", "ProtectedSettings",
		"ProtectedSettingsDecrypted", "DecryptError", "PublicSettings", "Command", "CommandField", "CommandNote", "FileUris", "Size", "Mtime", "Empty", "Encoding", "Truncated", "ParseError"})
}

func TestStatusPlugin(t *testing.T) {
	root := scenarioTree(t)
	st := filepath.Join(root, rc1, "status")
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_status(filename=[A, B, C], root=Root)",
		map[string]any{"Root": root, "A": filepath.Join(st, "1.status"), "B": filepath.Join(st, "3.status"), "C": filepath.Join(st, "6.status")})
	if len(rows) != 3 {
		t.Fatalf("rows %d %s", len(rows), logs)
	}
	check(t, "1", rows[0], map[string]any{"OSPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/1.status", "SeqNo": int64(1),
		"Operation": "Enable", "Status": "success", "StdOut": "payload ran\n", "StdErr": "warning: x\n", "ExitCode": nil,
		"Timestamp": "2024-05-02T10:10:09Z", "Placeholder": false, "Writer": "extension", "ParseError": nil})
	check(t, "3", rows[1], map[string]any{"Status": "transitioning", "Placeholder": true, "Writer": "shim", "Timestamp": "2024-05-02T10:40:01Z",
		"TimestampRaw": "2024-05-02T10:40:01+00:00", "Message": "Enable in progress", "StdOut": nil})
	check(t, "6", rows[2], map[string]any{"Status": "error", "ExitCode": int64(3), "StdErr": "boom\n"})
	keysInOrder(t, "SELECT * FROM azure_extension_status(filename=F)", map[string]any{"F": filepath.Join(st, "1.status")}, []string{
		"OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo", "Name", "Operation", "Status", "Code", "Message", "StdOut", "StdErr",
		"ExitCode", "ExecutionState", "StartTime", "EndTime", "Timestamp", "TimestampRaw", "Placeholder", "Writer", "Substatus",
		"Size", "Mtime", "Empty", "Encoding", "Truncated", "ParseError"})
}

func TestPluginInfo(t *testing.T) {
	rows, _ := runVQL(t, "SELECT * FROM azure_extension_status(filename='/nonexistent/0.status')", nil)
	if len(rows) != 0 {
		t.Errorf("missing file gave rows: %v", rows)
	}
}

func TestExecutionsUpgrade(t *testing.T) {
	// Two versions of the handler: the agent copied mrseq and status files
	// into the new folder; the old folder still has settings 0-1.
	root := t.TempDir()
	old := "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.3"
	writeTree(t, root, []tfile{
		{path: old + "/config/0.settings", content: settingsJSON(`{"commandToExecute": "old0"}`, false)},
		{path: old + "/config/1.settings", content: settingsJSON(`{"commandToExecute": "old1"}`, false)},
		{path: old + "/status/0.status", content: statusCSEError},
		{path: rc1 + "/config/1.settings", content: settingsJSON(`{"commandToExecute": "new1"}`, false)},
		{path: rc1 + "/status/0.status", content: goStatus("2024-05-02T10:00:05Z", "success", "Enable succeeded")},
		{path: rc1 + "/status/1.status", content: goStatus("2024-05-02T10:10:05Z", "success", "Enable succeeded")},
		{path: rc1 + "/mrseq", content: "1"},
		{path: "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.10/HandlerManifest.json", content: "[]"},
	})
	rows, logs := runVQL(t, "SELECT SeqNo, HandlerVersion, Command, Status, StatusPath, MostRecent FROM azure_run_executions(root=Root)", map[string]any{"Root": root})
	if len(rows) != 2 {
		t.Fatalf("rows %v %s", rows, logs)
	}
	check(t, "0", rows[0], map[string]any{"HandlerVersion": "1.0.3", "Command": "old0", "Status": "success",
		"StatusPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/0.status", "MostRecent": false})
	check(t, "1", rows[1], map[string]any{"HandlerVersion": "1.0.5", "Command": "new1", "MostRecent": true})

	rows, _ = runVQL(t, "SELECT Version FROM azure_extension_handlers(root=Root)", map[string]any{"Root": root})
	var v []string
	for _, r := range rows {
		v = append(v, r["Version"].(string))
	}
	if strings.Join(v, ",") != "1.0.3,1.0.5,1.0.10" {
		t.Errorf("version order %v", v)
	}
}

func TestSymlinksAndCaps(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "host-secret.settings")
	writeTree(t, root, []tfile{
		{path: rc1 + "/config/0.settings", link: outside},
		{path: rc1 + "/status/0.status", link: "/etc/hostname"},
		{path: rc1 + "/config/1.settings", content: settingsJSON(`{"commandToExecute": "`+strings.Repeat("x", 300)+`"}`, false)},
		{path: rc1 + "/mrseq", link: "/etc/hostname"},
	})
	if err := os.WriteFile(outside, []byte(settingsJSON(`{"commandToExecute": "HOST FILE"}`, false)), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, logs := runVQL(t, "SELECT SeqNo, Command, Status, SettingsPath FROM azure_run_executions(root=Root)", map[string]any{"Root": root})
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	check(t, "0", rows[0], map[string]any{"Command": nil, "Status": nil, "SettingsPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings"})
	for _, want := range []string{"config/0.settings: read", "status/0.status: read", "mrseq: read"} {
		if !strings.Contains(logs, want) || !strings.Contains(logs, "symlink not followed") {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, root) || strings.Contains(logs, outside) {
		t.Errorf("log names host paths:\n%s", logs)
	}

	// The settings plugin: a link is a row with ParseError, no host path.
	rows, logs = runVQL(t, "SELECT OSPath, ParseError FROM azure_extension_settings(filename=F, root=Root)",
		map[string]any{"Root": root, "F": filepath.Join(root, rc1, "config", "0.settings")})
	check(t, "link row", rows[0], map[string]any{"OSPath": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings", "ParseError": "read: open: symlink not followed"})
	if strings.Contains(logs, root) {
		t.Errorf("log names host paths:\n%s", logs)
	}

	// Reads are capped and flagged.
	old := MaxDocBytes
	MaxDocBytes = 100
	defer func() { MaxDocBytes = old }()
	rows, _ = runVQL(t, "SELECT Truncated, ParseError FROM azure_extension_settings(filename=F)",
		map[string]any{"F": filepath.Join(root, rc1, "config", "1.settings")})
	check(t, "capped", rows[0], map[string]any{"Truncated": true})
	if rows[0]["ParseError"] == nil {
		t.Errorf("capped settings parsed: %v", rows[0])
	}
}

func TestCancel(t *testing.T) {
	root := scenarioTree(t)
	rows, _ := runVQL(t, "SELECT SeqNo FROM azure_run_executions(root=Root) LIMIT 2", map[string]any{"Root": root})
	if len(rows) != 2 {
		t.Errorf("LIMIT 2: %d rows", len(rows))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	WalkExecutions(ctx, evidence.NewRoot(evidence.OSAccessor{}, root), true, func(string, ...any) {}, func(*ordereddict.Dict) bool { n++; return true })
	if n != 0 {
		t.Errorf("cancelled walk emitted %d rows", n)
	}
}
