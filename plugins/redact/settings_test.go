package redact

import (
	"testing"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
)

func TestSettings(t *testing.T) {
	in := ordereddict.NewDict().
		Set("script", []interface{}{"net user svc_support 'P@ssw0rd!2025' /add", "whoami"}).
		Set("source", ordereddict.NewDict().Set("script", "cmdkey /add:x /user:u /pass:Wint3r!Backup#7")).
		Set("storageAccountKey", "c2VjcmV0a2V5").
		Set("fileUris", []interface{}{"https://a.blob.core.windows.net/c/x.ps1?sv=1&sig=abc%3D"})
	out := Settings(in)
	b, _ := json.Marshal(out)
	want := `{"script":["net user svc_support '[REDACTED]' /add","whoami"],"source":{"script":"cmdkey /add:x /user:u /pass:[REDACTED]"},"storageAccountKey":"[REDACTED]","fileUris":["https://a.blob.core.windows.net/c/x.ps1?sv=1\u0026sig=[REDACTED]"]}`
	if string(b) != want {
		t.Errorf("Settings =\n %s\nwant\n %s", b, want)
	}
	// The input is not modified.
	if v, _ := in.Get("storageAccountKey"); v != "c2VjcmV0a2V5" {
		t.Errorf("input modified: %v", v)
	}
}
