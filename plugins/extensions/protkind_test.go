package extensions

import (
	"testing"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"www.velocidex.com/golang/vfilter"
)

// protectedSettings that is not a string cannot be decrypted: the row
// says what it was in DecryptError (unless decryption is off) instead of
// leaving plaintext and error both NULL (issue 11 §3).
func TestProtectedSettingsNotCiphertext(t *testing.T) {
	for _, c := range []struct{ prot, want string }{
		{`{"commandToExecute":"id"}`, "protectedSettings is a JSON object, not base64 ciphertext: nothing to decrypt"},
		{`12345`, "protectedSettings is a number, not base64 ciphertext: nothing to decrypt"},
		{`["a"]`, "protectedSettings is a list, not base64 ciphertext: nothing to decrypt"},
		{`true`, "protectedSettings is a boolean, not base64 ciphertext: nothing to decrypt"},
	} {
		data := `{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":"AB","protectedSettings":` + c.prot + `,"publicSettings":{}}}]}`
		s, err := ParseSettings([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []any{"Y", nil} {
			opts, _ := protected.NewOptions(mode, nil, "", "file", true)
			dec := protected.NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, t.TempDir()), opts)
			row := settingsRowDecrypt(dec, "", fileMeta{OSPath: "/var/lib/waagent/X-1.0/config/0.settings"}, s, nil, true)
			if got, _ := row.Get("DecryptError"); got != c.want {
				t.Errorf("%s decrypt=%v: DecryptError %v", c.prot, mode, got)
			}
			if got, _ := row.Get("ProtectedSettingsDecrypted"); got != nil {
				t.Errorf("%s: plaintext %v", c.prot, got)
			}
		}
		opts, _ := protected.NewOptions("N", nil, "", "file", true)
		dec := protected.NewDecryptor(vfilter.NewScope(), evidence.NewRoot(evidence.OSAccessor{}, t.TempDir()), opts)
		row := settingsRowDecrypt(dec, "", fileMeta{OSPath: "/x/config/0.settings"}, s, nil, true)
		if got, _ := row.Get("DecryptError"); got != nil {
			t.Errorf("decrypt=N: DecryptError %v", got)
		}
	}
}
