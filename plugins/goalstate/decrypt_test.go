package goalstate

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"

	"www.velocidex.com/golang/vfilter"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
)

func walkDecrypt(t *testing.T, dir string, redact bool, opts protected.Options) walkResult {
	t.Helper()
	var res walkResult
	root := evidence.NewRoot(evidence.OSAccessor{}, dir)
	opts.Redact = redact
	w := &Walker{
		Root: root,
		Opts: Options{Redact: redact, Decryptor: protected.NewDecryptor(vfilter.NewScope(), root, opts)},
		Logf: func(format string, args ...interface{}) { res.Logs = append(res.Logs, fmt.Sprintf(format, args...)) },
		Emit: func(r *Row) bool { res.Rows = append(res.Rows, r); return true },
	}
	w.Walk(context.Background())
	return res
}

// TestDecryptLinuxFixture: ExtensionsConfig.11.xml's blobs decrypt with
// the tree's own key (decrypt=auto finds it); ExtensionsConfig.10.xml's
// blob (thumbprint without key) gives a clear error and its row is kept;
// history copies (***REDACTED***) are not attempted.
func TestDecryptLinuxFixture(t *testing.T) {
	root := fixtureCopy(t, "goalstates")
	thumb, err := os.ReadFile("testdata/protected/thumbprint")
	if err != nil {
		t.Fatal(err)
	}
	res := walkDecrypt(t, root, true, protected.Options{})
	if len(res.Rows) != 2+2+1+7+2+2+2+3+3 {
		t.Fatalf("rows: %d", len(res.Rows))
	}
	rows := res.bySource("/var/lib/waagent/ExtensionsConfig.11.xml", "")
	if len(rows) != 2 {
		t.Fatalf("%+v", rows)
	}
	rc, cse := rows[0], rows[1]
	script, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(readTestdata(t, "protected/rc1-4.json"), `{"script":"`), `"}`))
	if rc.Thumbprint != strings.TrimSpace(string(thumb)) || rc.DecryptError != "" || rc.Command != string(script) ||
		rc.CommandSource != "protectedSettings" || rc.ProtectedSettingsDecrypted == nil {
		t.Errorf("RC v1: %+v", rc)
	}
	pj := pubJSON(t, cse.ProtectedSettingsDecrypted)
	if cse.Command != "bash stage.sh 203.0.113.7" || cse.CommandSource != "protectedSettings" ||
		!strings.Contains(pj, `"storageAccountKey":"[REDACTED]"`) || !strings.Contains(pj, "sig=[REDACTED]") || strings.Contains(pj, fakeSig) {
		t.Errorf("CSE: %+v %s", cse, pj)
	}
	old := res.bySource("/var/lib/waagent/ExtensionsConfig.10.xml", "")[0]
	if old.ProtectedSettingsDecrypted != nil || !strings.HasPrefix(old.DecryptError, "no key for thumbprint EE22B5ECAC6A83B581A7CAC1772BEBD0E016649F") ||
		old.CommandSource != "publicSettings" || old.Command != rc1Script {
		t.Errorf("no key: %+v", old)
	}
	for _, r := range res.Rows {
		if protected.IsRedactionMarker(r.ProtectedSettings) && (r.DecryptError != "" || r.ProtectedSettingsDecrypted != nil) {
			t.Errorf("redacted copy attempted: %+v", r)
		}
	}

	// redact=false: the plaintext as CRP sent it.
	raw := walkDecrypt(t, root, false, protected.Options{})
	cse = raw.bySource("/var/lib/waagent/ExtensionsConfig.11.xml", "")[1]
	if pj := strings.ReplaceAll(pubJSON(t, cse.ProtectedSettingsDecrypted), `\u0026`, "&"); pj != readTestdata(t, "protected/cse-2.json") {
		t.Errorf("redact=false: %s", pj)
	}
	// decrypt=false: nothing decrypted, Command stays empty.
	off := walkDecrypt(t, root, true, protected.Options{Decrypt: protected.Off})
	rc = off.bySource("/var/lib/waagent/ExtensionsConfig.11.xml", "")[0]
	if rc.ProtectedSettingsDecrypted != nil || rc.DecryptError != "" || rc.Command != "" || rc.CommandSource != "" {
		t.Errorf("decrypt=false: %+v", rc)
	}
}

// TestDecryptWindowsFixture: no key material on a Windows tree: auto
// leaves the ciphertext alone; decrypt=true says why per row.
func TestDecryptWindowsFixture(t *testing.T) {
	root := fixtureCopy(t, "goalstates-windows")
	for _, r := range walkDecrypt(t, root, true, protected.Options{}).Rows {
		if r.DecryptError != "" || r.ProtectedSettingsDecrypted != nil {
			t.Errorf("auto without keys: %+v", r)
		}
	}
	n := 0
	for _, r := range walkDecrypt(t, root, true, protected.Options{Decrypt: protected.On}).Rows {
		if strings.HasPrefix(r.ProtectedSettings, "MII") {
			n++
			if !strings.HasPrefix(r.DecryptError, "no key for thumbprint ") || !strings.Contains(r.DecryptError, "no keys were loaded") {
				t.Errorf("decrypt=true: %+v", r)
			}
		}
	}
	if n == 0 {
		t.Error("no ciphertext in the Windows fixture")
	}
}

func readTestdata(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
