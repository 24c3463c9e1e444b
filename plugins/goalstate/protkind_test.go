package goalstate

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/plugins/protected"
)

// A goal state whose protectedSettings is a JSON object or a number: the
// row's DecryptError says what it was; the JSON text is kept as found,
// redacted.
func TestProtectedSettingsNotCiphertext(t *testing.T) {
	dir := t.TempDir()
	vs := `{"extensionGoalStates":[{"name":"Microsoft.CPlat.Core.RunCommandLinux","version":"1.0.5","settings":[
{"protectedSettingsCertThumbprint":"AB","protectedSettings":{"commandToExecute":"mysql -uroot -pS3cretX"},"publicSettings":"{}","seqNo":1},
{"protectedSettingsCertThumbprint":"AB","protectedSettings":42,"publicSettings":"{}","seqNo":2}]}]}`
	writeFile(t, filepath.Join(dir, "var", "lib", "waagent", "VmSettings.json"), []byte(vs))
	opts, _ := protected.NewOptions("Y", nil, "", "file", true)
	res := walkDecrypt(t, dir, true, opts)
	if len(res.Rows) != 2 {
		t.Fatalf("rows: %+v\n%s", res.Rows, res.logText())
	}
	if r := res.Rows[0]; r.DecryptError != "protectedSettings is a JSON object, not base64 ciphertext: nothing to decrypt" ||
		r.ProtectedSettingsDecrypted != nil || strings.Contains(r.ProtectedSettings, "S3cretX") ||
		!strings.Contains(r.ProtectedSettings, "-p[REDACTED]") {
		t.Errorf("object: %+v", r)
	}
	if r := res.Rows[1]; r.DecryptError != "protectedSettings is a number, not base64 ciphertext: nothing to decrypt" || r.ProtectedSettings != "42" {
		t.Errorf("number: %+v", r)
	}
}

// A zip inside a goal-state zip is named in the log, not skipped silently.
func TestNestedZipReported(t *testing.T) {
	dir := t.TempDir()
	ec := string(fixtureFile(t, "goalstates/var/lib/waagent/history/2023-08-04T09-43-27__3/ExtensionsConfig.xml"))
	inner := zipBytes(t, [2]string{"ExtensionsConfig.xml", ec})
	outer := zipBytes(t, [2]string{"ExtensionsConfig.xml", ec}, [2]string{"hidden/More.ZIP", string(inner)})
	p := filepath.Join(dir, "var", "lib", "waagent", "history", "2024-01-01T00-00-00__4.zip")
	writeFile(t, p, outer)
	// and a damaged copy, read from its local headers
	writeFile(t, filepath.Join(dir, "var", "lib", "waagent", "history", "2024-01-01T00-00-01__5.zip"), outer[:len(outer)-30])
	res := walkDir(t, dir, true)
	logs := res.logText()
	for _, z := range []string{"2024-01-01T00-00-00__4.zip", "2024-01-01T00-00-01__5.zip"} {
		want := z + ": member hidden/More.ZIP: a zip inside the zip: not opened"
		if !strings.Contains(logs, want) {
			t.Errorf("no message %q in\n%s", want, logs)
		}
	}
	if len(res.Rows) == 0 {
		t.Error("the goal state beside the nested zip was not read")
	}
}

// A publicSettings key written twice: the last value is the row's, and
// the log names the duplicate with both values (redacted).
func TestDuplicatePublicKey(t *testing.T) {
	dir := t.TempDir()
	vs := `{"extensionGoalStates":[{"name":"Microsoft.CPlat.Core.RunCommandLinux","version":"1.0.5","settings":[
{"publicSettings":"{\"commandToExecute\":\"echo decoy\",\"commandToExecute\":\"mysql -uroot -pS3cretY\"}","seqNo":1}]}]}`
	writeFile(t, filepath.Join(dir, "var", "lib", "waagent", "VmSettings.json"), []byte(vs))
	res := walkDir(t, dir, true)
	if len(res.Rows) != 1 || res.Rows[0].Command != "mysql -uroot -p[REDACTED]" {
		t.Fatalf("rows %+v", res.Rows)
	}
	want := `publicSettings: key "commandToExecute" written twice: first "echo decoy", then "mysql -uroot -p[REDACTED]"; the last is kept`
	if logs := res.logText(); !strings.Contains(logs, want) || strings.Contains(logs, "S3cretY") {
		t.Errorf("log:\n%s", logs)
	}
}

// What one zip's members decompress to is bounded in all, and the log
// says where reading stopped.
func TestZipTotalBounded(t *testing.T) {
	defer func(n int) { maxZipTotal = n }(maxZipTotal)
	maxZipTotal = 3000
	var members [][2]string
	for i := 0; i < 10; i++ {
		members = append(members, [2]string{fmt.Sprintf("m%d.xml", i), strings.Repeat("x", 1000)})
	}
	z := zipBytes(t, members...)
	var names, logs []string
	readZip(nopCloser{bytes.NewReader(z)}, int64(len(z)), func(string) bool { return true },
		func(m zipMember) bool { names = append(names, m.Name); return true },
		func(f string, a ...interface{}) { logs = append(logs, fmt.Sprintf(f, a...)) })
	if len(names) != 4 || len(logs) != 1 || !strings.Contains(logs[0], "the members after m3.xml are not read") {
		t.Errorf("read %v, log %q", names, logs)
	}
}
