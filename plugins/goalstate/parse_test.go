package goalstate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/Velocidex/ordereddict"
)

const (
	hibernateDir = "goalstates/var/lib/waagent/history/2025-06-11T21-44-41__1-7390268434121519467/"
	tenantEC     = "goalstates/var/lib/waagent/history/2023-08-04T09-43-27__3/ExtensionsConfig.xml"
	multiEC      = "goalstates-windows/WindowsAzure/Config/ExtensionsConfig.4.xml"
)

func TestTicksToTime(t *testing.T) {
	cases := []struct {
		ticks int64
		want  string
	}{
		{638852747570627097, "2025-06-11T21:39:17.0627097Z"}, // hibernate ExtensionsConfig createdOnTicks
		{638852750771746340, "2025-06-11T21:44:37.174634Z"},  // hibernate VmSettings extensionsLastModifiedTickCount
		{638267389998354169, "2023-08-04T09:43:19.8354169Z"}, // tenant_certificate_rotation
		{637415129555522297, "2020-11-20T23:49:15.5522297Z"}, // multi-config
		{621355968000000000, "1970-01-01T00:00:00Z"},
		{1, "0001-01-01T00:00:00.0000001Z"},
		{maxTicks, "9999-12-31T23:59:59.9999999Z"},
	}
	for _, c := range cases {
		got, ok := TicksToTime(c.ticks)
		if !ok || !got.Equal(mustTime(t, c.want)) || got.Location() != time.UTC {
			t.Errorf("TicksToTime(%d) = %v, %v; want %s", c.ticks, got.Format(time.RFC3339Nano), ok, c.want)
		}
	}
	for _, bad := range []int64{0, -1, maxTicks + 1, 1<<63 - 1, -1 << 63} {
		if _, ok := TicksToTime(bad); ok {
			t.Errorf("TicksToTime(%d) accepted", bad)
		}
	}
}

func setting(t *testing.T, doc *Doc, handler, extName string) Setting {
	t.Helper()
	for _, s := range doc.Settings {
		if s.Handler == handler && s.ExtensionName == extName {
			return s
		}
	}
	t.Fatalf("no setting %s/%s in %+v", handler, extName, doc.Settings)
	return Setting{}
}

func pubJSON(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseExtensionsConfigHibernate(t *testing.T) {
	doc, err := ParseExtensionsConfig(fixtureFile(t, hibernateDir+"ExtensionsConfig.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if i64(doc.Incarnation) != int64(1) || !doc.Created.Equal(mustTime(t, "2025-06-11T21:39:17.0627097Z")) {
		t.Errorf("incarnation %v created %v", i64(doc.Incarnation), doc.Created)
	}
	if len(doc.Settings) != 3 || len(doc.Warnings) != 0 {
		t.Fatalf("settings %+v warnings %v", doc.Settings, doc.Warnings)
	}
	gc := doc.Settings[0]
	if gc.Handler != "Microsoft.GuestConfiguration.ConfigurationforLinux" || gc.Version != "1.26.89" || gc.State != "enabled" ||
		i64(gc.SeqNo) != int64(0) || gc.Thumbprint != "1AF52E2E892C3A0DBC589F301F80073CBA924E26" ||
		gc.ProtectedSettings != "***REDACTED***" || pubJSON(t, gc.PublicSettings) != "{}" {
		t.Errorf("guest configuration: %+v", gc)
	}
	cse := doc.Settings[1]
	if cse.Handler != "Microsoft.Azure.Extensions.CustomScript" || cse.Version != "2.1.13" || i64(cse.SeqNo) != int64(4) ||
		cse.PublicSettings != nil || cse.ProtectedSettings != "***REDACTED***" || !cse.HasSettings {
		t.Errorf("custom script: %+v", cse)
	}
	hib := doc.Settings[2]
	if hib.Handler != "Microsoft.CPlat.Core.LinuxHibernateExtension" || hib.Version != "1.0.1" || hib.SeqNo != nil || hib.HasSettings {
		t.Errorf("hibernate (no settings): %+v", hib)
	}
}

func TestParseExtensionsConfigTenant(t *testing.T) {
	doc, err := ParseExtensionsConfig(fixtureFile(t, tenantEC))
	if err != nil {
		t.Fatal(err)
	}
	if i64(doc.Incarnation) != int64(3) || !doc.Created.Equal(mustTime(t, "2023-08-04T09:43:19.8354169Z")) {
		t.Errorf("incarnation %v created %v", i64(doc.Incarnation), doc.Created)
	}
	ama := setting(t, doc, "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent", "")
	if ama.Version != "1.27.2" || ama.HasSettings {
		t.Errorf("AMA: %+v", ama)
	}
	cse := setting(t, doc, "Microsoft.Azure.Extensions.CustomScript", "")
	if cse.Version != "2.0.7" || i64(cse.SeqNo) != int64(0) || cse.ProtectedSettings != "*** REDACTED ***" ||
		cse.Thumbprint != "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9" {
		t.Errorf("CSE: %+v", cse)
	}
}

func TestParseExtensionsConfigMultiConfig(t *testing.T) {
	doc, err := ParseExtensionsConfig(fixtureFile(t, multiEC))
	if err != nil {
		t.Fatal(err)
	}
	if i64(doc.Incarnation) != int64(4) || !doc.Created.Equal(mustTime(t, "2020-11-20T23:49:15.5522297Z")) {
		t.Errorf("incarnation %v created %v", i64(doc.Incarnation), doc.Created)
	}
	want := []struct {
		name  string
		seq   int64
		cmd   string
		param string
	}{
		{"firstRunCommand", 2, "Write-Host First: Hello World 1234!", "firstRunCommand"},
		{"secondRunCommand", 2, "Write-Host First: Hello World 1234!", "secondRunCommand"},
		{"thirdRunCommand", 1, "Write-Host Third: Hello World 3!", "thirdRunCommand"},
	}
	for i, w := range want {
		s := doc.Settings[i]
		cmd, _ := CommandOf(s.PublicSettings)
		if s.Handler != "Microsoft.CPlat.Core.RunCommandHandlerWindows" || s.Version != "2.3.0" || s.ExtensionName != w.name ||
			i64(s.SeqNo) != w.seq || s.State != "enabled" || cmd != w.cmd ||
			!strings.Contains(pubJSON(t, s.PublicSettings), `"value":"`+w.param+`"`) {
			t.Errorf("multi-config %d: %+v cmd %q", i, s, cmd)
		}
	}
	cse := setting(t, doc, "Microsoft.Compute.CustomScriptExtension", "")
	cmd, _ := CommandOf(cse.PublicSettings)
	if cse.Version != "1.10.9" || i64(cse.SeqNo) != int64(2) || cmd != "echo Hello 1234" ||
		strings.Join(FileUrisOf(cse.PublicSettings), ",") != "https://test.blob.core.windows.net/windowsagent/VerifyAgentRunning.ps1" {
		t.Errorf("CSE: %+v", cse)
	}
	vma := setting(t, doc, "Microsoft.Compute.VMAccessAgent", "")
	if pubJSON(t, vma.PublicSettings) != `{"UserName":"test1234"}` || !strings.HasPrefix(vma.ProtectedSettings, "MIIByAYJKoZIhvcNAQcDoIIBuTCCAbUCAQAx") ||
		vma.Thumbprint != "EE22B5ECAC6A83B581A7CAC1772BEBD0E016649F" {
		t.Errorf("VMAccess: %+v", vma)
	}
	if len(doc.Settings) != 7 {
		t.Errorf("settings: %d", len(doc.Settings))
	}
}

func TestParseVmSettingsHostGAPlugin(t *testing.T) {
	// The real hostgaplugin/vm_settings.json, as the fixture's zip member.
	res := walkDir(t, repoFixtures+"/goalstates", false)
	rows := res.bySource("/var/lib/waagent/history/2021-11-16T13-23-06__9-1737442375466306613.zip", "VmSettings.json")
	if len(rows) != 7 {
		t.Fatalf("rows: %d\n%s", len(rows), res.logText())
	}
	for _, r := range rows {
		if r.Format != FormatVmSettings || !r.Created.Equal(mustTime(t, "2021-11-16T13:22:50.6205299Z")) ||
			i64(r.Incarnation) != int64(9) || r.ETag != "1737442375466306613" {
			t.Errorf("row: %+v", r)
		}
	}
	cse := rows[2]
	if cse.Handler != "Microsoft.Azure.Extensions.CustomScript" || cse.Version != "2.1.6" || i64(cse.SeqNo) != int64(0) ||
		cse.Command != "echo 'cee174d4-4daa-4b07-9958-53b9649445c2'" || cse.ProtectedSettings != "" {
		t.Errorf("CSE: %+v", cse)
	}
	for i, w := range []struct{ name, cmd string }{
		{"MCExt1", "echo '4abb1e88-f349-41f8-8442-247d9fdfcac5'"},
		{"MCExt2", "echo 'e865c9bc-a7b3-42c6-9a79-cfa98a1ee8b3'"},
		{"MCExt3", "echo 'f923e416-0340-485c-9243-8b84fb9930c6'"},
	} {
		r := rows[3+i]
		if r.Handler != "Microsoft.CPlat.Core.RunCommandHandlerLinux" || r.Version != "1.2.0" || r.ExtensionName != w.name ||
			r.Command != w.cmd || r.State != "enabled" || i64(r.SeqNo) != int64(0) {
			t.Errorf("multi-config %s: %+v", w.name, r)
		}
	}
	ama := rows[0]
	if ama.Handler != "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent" || pubJSON(t, ama.PublicSettings) != `{"GCS_AUTO_CONFIG":true}` ||
		ama.Thumbprint != "F6ABAA61098A301EBB8A571C3C7CF77F355F7FA9" ||
		ama.ProtectedSettings != "MIIBsAYJKoZIhvcNAQcDoIIBoTCCAZ0CAQAxggFpMIIBZQIBADBNMDkxNzA1BgoJkiaJk/Microsoft.Azure.Monitor.AzureMonitorLinuxAgent==" {
		t.Errorf("AMA: %+v", ama)
	}
	if vma := rows[6]; vma.Handler != "Microsoft.OSTCExtensions.VMAccessForLinux" || vma.Version != "1.5.11" || vma.PublicSettings != nil {
		t.Errorf("VMAccess: %+v", vma)
	}
}

func TestParseVmSettingsHibernate(t *testing.T) {
	doc, err := ParseVmSettings(fixtureFile(t, hibernateDir+"VmSettings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !doc.Created.Equal(mustTime(t, "2025-06-11T21:44:37.174634Z")) || doc.Incarnation != nil || len(doc.Settings) != 3 {
		t.Fatalf("doc: %+v", doc)
	}
	cse := setting(t, doc, "Microsoft.Azure.Extensions.CustomScript", "")
	if cse.Version != "2.1.13" || i64(cse.SeqNo) != int64(5) || cse.ProtectedSettings != "***REDACTED***" || cse.PublicSettings != nil {
		t.Errorf("CSE: %+v", cse)
	}
	gc := setting(t, doc, "Microsoft.GuestConfiguration.ConfigurationforLinux", "")
	if _, ok := gc.PublicSettings.(*ordereddict.Dict); !ok || pubJSON(t, gc.PublicSettings) != "{}" {
		t.Errorf("publicSettings \"{}\" (a JSON string) not parsed: %#v", gc.PublicSettings)
	}
	hib := setting(t, doc, "Microsoft.CPlat.Core.LinuxHibernateExtension", "")
	if hib.HasSettings || i64(hib.SeqNo) != int64(0) {
		t.Errorf("hibernate: %+v", hib)
	}
}

func TestParseExtensionsConfigBad(t *testing.T) {
	// Another kind of document.
	if _, err := ParseExtensionsConfig(fixtureFile(t, hibernateDir+"GoalState.xml")); !errors.Is(err, ErrNotExtensionsConfig) {
		t.Errorf("GoalState.xml: %v", err)
	}
	for name, in := range map[string]string{
		"empty":   "",
		"garbage": "\x00\x01\x02binary",
		"text":    "not xml at all",
		"json":    `{"runtimeSettings":[]}`,
	} {
		doc, err := ParseExtensionsConfig([]byte(in))
		if err == nil || doc != nil {
			t.Errorf("%s: doc %v err %v", name, doc, err)
		}
	}
	// Cut short: the plugins read so far come back with the error.
	full := fixtureFile(t, multiEC)
	cut := full[:bytes.Index(full, []byte(`<Plugin name="Microsoft.Azure.Security.AntimalwareSignature.AntimalwareConfiguration" version="2.0.53.0">`))+20]
	doc, err := ParseExtensionsConfig(cut)
	if err == nil || doc == nil || len(doc.Settings) < 4 {
		t.Fatalf("cut: %v %+v", err, doc)
	}
	if doc.Settings[2].ExtensionName != "thirdRunCommand" || doc.Created != (time.Time{}) {
		t.Errorf("cut: %+v", doc.Settings)
	}
	// UTF-16 with a BOM (Windows tools) reads the same.
	u := utf16.Encode([]rune(string(full)))
	b := []byte{0xFF, 0xFE}
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	doc16, err := ParseExtensionsConfig(b)
	if err != nil || len(doc16.Settings) != 7 {
		t.Errorf("utf-16: %v", err)
	}
	// A RuntimeSettings body that is not JSON: a warning, the setting kept.
	x := `<Extensions goalStateIncarnation="x"><Plugins><Plugin name="A" version="1" state="enabled"/></Plugins>` +
		`<PluginSettings><Plugin name="A" version="1"><RuntimeSettings seqNo="1">{not json</RuntimeSettings></Plugin>` +
		`<Plugin name="B" version="2"><RuntimeSettings seqNo="z">{"runtimeSettings":[{"handlerSettings":{"publicSettings":"[1]"}}]}</RuntimeSettings></Plugin></PluginSettings>` +
		`<InVMGoalStateMetaData createdOnTicks="-5"/></Extensions>`
	doc, err = ParseExtensionsConfig([]byte(x))
	if err != nil || len(doc.Settings) != 2 || doc.Incarnation != nil || len(doc.Warnings) != 2 {
		t.Fatalf("bad json: %v %+v", err, doc)
	}
	if doc.Settings[0].HasSettings || i64(doc.Settings[0].SeqNo) != int64(1) || doc.Settings[1].Handler != "B" ||
		doc.Settings[1].SeqNo != nil || pubJSON(t, doc.Settings[1].PublicSettings) != "[1]" {
		t.Errorf("bad json: %+v", doc.Settings)
	}
}

func TestParseVmSettingsBad(t *testing.T) {
	for name, in := range map[string]string{
		"empty":   "",
		"garbage": "\x00\x01binary",
		"array":   "[1,2]",
	} {
		doc, err := ParseVmSettings([]byte(in))
		if err == nil || doc != nil {
			t.Errorf("%s: doc %v err %v", name, doc, err)
		}
	}
	// Cut inside the second entry: the first survives.
	full := fixtureFile(t, hibernateDir+"VmSettings.json")
	cut := full[:bytes.Index(full, []byte(`"name": "Microsoft.Azure.Extensions.CustomScript"`))+10]
	doc, err := ParseVmSettings(cut)
	if err == nil || doc == nil || len(doc.Settings) != 1 || doc.Settings[0].Handler != "Microsoft.GuestConfiguration.ConfigurationforLinux" {
		t.Fatalf("cut: %v %+v", err, doc)
	}
	// Wrong types are tolerated per field or per entry.
	in := `{"extensionsLastModifiedTickCount":"637726657706205299","extensionGoalStates":[1,{"name":"A","version":2,"settingsSeqNo":"3",` +
		`"settings":[{"publicSettings":"not json","seqNo":4,"extensionName":"e1"},7]},{"name":"B","settings":{}}]}`
	doc, err = ParseVmSettings([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Settings) != 3 || !doc.Created.Equal(mustTime(t, "2021-11-16T13:22:50.6205299Z")) {
		t.Fatalf("%+v", doc)
	}
	a := doc.Settings[0]
	if a.Handler != "A" || a.Version != "2" || i64(a.SeqNo) != int64(4) || a.ExtensionName != "e1" || a.PublicSettings != "not json" {
		t.Errorf("A: %+v", a)
	}
	if b := doc.Settings[1]; b.Handler != "A" || i64(b.SeqNo) != int64(3) || b.HasSettings {
		t.Errorf("A second: %+v", b)
	}
	if len(doc.Warnings) != 4 {
		t.Errorf("warnings: %q", doc.Warnings)
	}
}

func TestCommandOf(t *testing.T) {
	dict := func(s string) interface{} {
		v, err := DecodeOrderedJSON([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct{ pub, cmd, uris string }{
		{`{"commandToExecute":"sh x.sh","fileUris":["https://a/x.sh"]}`, "sh x.sh", "https://a/x.sh"},
		{`{"CommandToExecute":"case"}`, "case", ""},
		{`{"script":["whoami","Get-Process"]}`, "whoami\nGet-Process", ""},
		{`{"script":"IyEvYmluL3NoCmlkCg=="}`, "#!/bin/sh\nid\n", ""},
		{`{"script":"plain text script"}`, "plain text script", ""},
		{`{"source":{"script":"ls -la","scriptUri":"https://b/s.sh"},"artifacts":[{"id":1,"uri":"https://c/a.bin"}]}`, "ls -la", "https://b/s.sh,https://c/a.bin"},
		{`{"source":{"commandId":"RunShellScript"}}`, "", ""},
		{`[1]`, "", ""},
		{`{"fileUris":"https://single"}`, "", "https://single"},
	}
	for _, c := range cases {
		p := dict(c.pub)
		cmd, _ := CommandOf(p)
		if cmd != c.cmd || strings.Join(FileUrisOf(p), ",") != c.uris {
			t.Errorf("%s: cmd %q uris %v", c.pub, cmd, FileUrisOf(p))
		}
	}
	if cmd, _ := CommandOf(nil); cmd != "" {
		t.Error("nil")
	}
}

func TestHistoryName(t *testing.T) {
	cases := []struct {
		name string
		inc  interface{}
		etag string
	}{
		{"2024-05-02T10-11-09__5", int64(5), ""},
		{"2024-05-02T10-11-09__5-4012345678901234567", int64(5), "4012345678901234567"},
		{"2024-05-02T10-11-09__5-4012345678901234567.zip", int64(5), "4012345678901234567"},
		{"2018-04-06T08:21:37.142697_incarnation_3.zip", int64(3), ""},
		{"2018-04-06T08:21:37.142697_incarnation_3", int64(3), ""},
		{"2018-04-06T08:21:37.142697_3-1234.zip", int64(3), "1234"},
		{"2018-04-06T08:21:37.142697.zip", nil, ""},
		{"2024-05-02T10-11-09__status", nil, ""},
		{"random", nil, ""},
	}
	for _, c := range cases {
		inc, etag := historyName(c.name)
		if i64(inc) != c.inc || etag != c.etag {
			t.Errorf("%s: %v %q", c.name, i64(inc), etag)
		}
	}
}
