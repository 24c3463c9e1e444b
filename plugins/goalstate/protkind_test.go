package goalstate

import (
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
