package protected

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"

	"github.com/azvql/azvql/plugins/evidence"
)

func TestParseMode(t *testing.T) {
	cases := []struct {
		in   interface{}
		want Mode
		err  bool
	}{
		{nil, Auto, false}, {types.Null{}, Auto, false}, {"", Auto, false}, {"AUTO", Auto, false},
		{true, On, false}, {"Y", On, false}, {"yes", On, false}, {"1", On, false}, {int64(1), On, false},
		{false, Off, false}, {"N", Off, false}, {"off", Off, false}, {int64(0), Off, false},
		{"maybe", Auto, true}, {[]string{"x"}, Auto, true},
	}
	for _, c := range cases {
		got, err := ParseMode(c.in)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("ParseMode(%#v) = %v, %v", c.in, got, err)
		}
	}
}

func newDec(t *testing.T, scope vfilter.Scope, tree string, opts Options) *Decryptor {
	t.Helper()
	return NewDecryptor(scope, evidence.NewRoot(evidence.OSAccessor{}, tree), opts)
}

func TestDecryptorModes(t *testing.T) {
	th := thumbs(t)
	scope := vfilter.NewScope()
	withKeys := abs(t, "root-crtprv")
	noKeys := abs(t, "keys") // no var/lib/waagent below

	// Auto with keys on the evidence: decrypts, redacts by default.
	d := newDec(t, scope, withKeys, Options{Redact: true})
	if !d.Enabled() {
		t.Fatal("auto with keys: not enabled")
	}
	r := d.Decrypt(blob(t, "aes256"), th["crp1"])
	if !r.Attempted || r.Err != nil || r.Cipher != "aes-256-cbc" || r.KeySource != "/var/lib/waagent/"+th["crp1"]+".prv" {
		t.Fatalf("%+v", r)
	}
	if s := jsonOf(t, r.Plaintext); !strings.Contains(s, `"runAsPassword":"[REDACTED]"`) || strings.Contains(s, "Hunter2") {
		t.Fatalf("not redacted: %s", s)
	}
	p, e := r.Columns()
	if p == nil || e != nil {
		t.Fatal(p, e)
	}
	// The RC v1 plaintext: commandToExecute.
	r = d.Decrypt(blob(t, "3des"), th["crp1"])
	if r.CommandField != "commandToExecute" || !strings.Contains(r.Command, "curl -s https://example.invalid/x.sh") {
		t.Fatalf("%+v", r)
	}

	// Same scope, same arguments: the cached ring.
	d2 := newDec(t, scope, withKeys, Options{Redact: false})
	if d2.KeyRing() != d.KeyRing() {
		t.Error("key ring loaded twice in one query")
	}
	if s := jsonOf(t, d2.Decrypt(blob(t, "aes256"), th["crp1"]).Plaintext); !strings.Contains(s, "Hunter2") {
		t.Errorf("redact=false: %s", s)
	}

	// Auto without key material: nothing attempted, NULL columns.
	d = newDec(t, scope, noKeys, Options{})
	if d.Enabled() {
		t.Error("auto without keys: enabled")
	}
	if r := d.Decrypt(blob(t, "3des"), th["crp1"]); r.Attempted {
		t.Errorf("%+v", r)
	}
	// On without key material: a clear error per blob.
	d = newDec(t, scope, noKeys, Options{Decrypt: On})
	r = d.Decrypt(blob(t, "3des"), th["crp1"])
	if !r.Attempted || !errors.Is(r.Err, ErrNoKey) || !strings.Contains(r.Error, "no key for thumbprint "+th["crp1"]) || r.Cipher != "des-ede3-cbc" {
		t.Errorf("%+v", r)
	}
	if p, e := r.Columns(); p != nil || e != r.Error {
		t.Error(p, e)
	}
	// keys= files make auto decrypt even without evidence keys.
	d = newDec(t, scope, noKeys, Options{Keys: []string{abs(t, "keys/crp2.prv")}})
	if r := d.Decrypt(blob(t, "crp2"), ""); r.Err != nil || r.KeySource != abs(t, "keys/crp2.prv") {
		t.Errorf("%+v", r)
	}
	// Off reads nothing.
	d = newDec(t, scope, withKeys, Options{Decrypt: Off})
	if d.Enabled() || d.KeyRing() != nil || d.Decrypt(blob(t, "3des"), "").Attempted {
		t.Error("off decrypts")
	}
	// A nil decryptor, empty blobs and the agent's redaction marker.
	var nd *Decryptor
	if nd.Enabled() || nd.Decrypt(blob(t, "3des"), "").Attempted {
		t.Error("nil decryptor")
	}
	d = newDec(t, scope, withKeys, Options{Decrypt: On})
	for _, b := range []string{"", "  ", "***REDACTED***"} {
		if r := d.Decrypt(b, th["crp1"]); r.Attempted {
			t.Errorf("%q: %+v", b, r)
		}
	}
	// Wrong key, corrupt.
	if r := d.Decrypt(blob(t, "crp2"), th["crp1"]); !errors.Is(r.Err, ErrWrongKey) {
		t.Errorf("%+v", r)
	}
	b := blob(t, "3des")
	if r := d.Decrypt(b[:len(b)/2], th["crp1"]); !errors.Is(r.Err, ErrCorrupt) {
		t.Errorf("%+v", r)
	}
}

func TestCommandFromPlaintext(t *testing.T) {
	script := base64.StdEncoding.EncodeToString([]byte("id\nhostname\n"))
	mk := func(kv ...interface{}) *ordereddict.Dict {
		d := ordereddict.NewDict()
		for i := 0; i+1 < len(kv); i += 2 {
			d.Set(kv[i].(string), kv[i+1])
		}
		return d
	}
	cases := []struct {
		in         interface{}
		cmd, field string
	}{
		{mk("commandToExecute", "whoami", "script", script), "whoami", "commandToExecute"},
		{mk("Script", script), "id\nhostname\n", "script"},
		{mk("script", []interface{}{"whoami", "Get-Process"}), "whoami\nGet-Process", "script"},
		{mk("source", mk("script", "ls /")), "ls /", "source.script"},
		{mk("storageAccountKey", "x"), "", ""},
		{"not a dict", "", ""},
		{nil, "", ""},
	}
	for _, c := range cases {
		cmd, field := CommandFromPlaintext(c.in)
		if cmd != c.cmd || field != c.field {
			t.Errorf("%v: %q %q", c.in, cmd, field)
		}
	}
}

func TestInsertColumns(t *testing.T) {
	row := ordereddict.NewDict().Set("A", 1).Set("ProtectedSettings", "MII").Set("Command", nil)
	ok := &Decrypted{Attempted: true, Plaintext: "p"}
	got := ok.InsertColumns(row, "ProtectedSettings")
	if strings.Join(got.Keys(), ",") != "A,ProtectedSettings,ProtectedSettingsDecrypted,DecryptError,Command" || len(row.Keys()) != 3 {
		t.Fatal(got.Keys())
	}
	if v, _ := got.Get(ColumnDecrypted); v != "p" {
		t.Error(v)
	}
	bad := &Decrypted{Attempted: true, Err: ErrCorrupt, Error: "corrupt blob: x"}
	got = bad.InsertColumns(row, "Missing")
	if strings.Join(got.Keys(), ",") != "A,ProtectedSettings,Command,ProtectedSettingsDecrypted,DecryptError" {
		t.Fatal(got.Keys())
	}
	if v, _ := got.Get(ColumnDecryptError); v != "corrupt blob: x" {
		t.Error(v)
	}
	var none Decrypted
	got = none.InsertColumns(row, "A")
	if v, ok := got.Get(ColumnDecrypted); !ok || v != nil {
		t.Error(v, ok)
	}
}

func TestDecryptResultCache(t *testing.T) {
	th := thumbs(t)
	scope := vfilter.NewScope()
	d := newDec(t, scope, abs(t, "root-crtprv"), Options{})
	a, b := d.Decrypt(blob(t, "aes256"), th["crp1"]), d.Decrypt(blob(t, "aes256"), th["crp1"])
	pa, _ := a.Plaintext.(*ordereddict.Dict)
	pb, _ := b.Plaintext.(*ordereddict.Dict)
	if pa == nil || pa != pb {
		t.Errorf("second decryption of the same blob not served from the query's cache")
	}
	// Another Decryptor of the same query shares it; a thumbprint is part of the key.
	d2 := newDec(t, scope, abs(t, "root-crtprv"), Options{})
	if c, _ := d2.Decrypt(blob(t, "aes256"), th["crp1"]).Plaintext.(*ordereddict.Dict); c != pa {
		t.Error("not shared across decryptors of one query")
	}
	if r := d2.Decrypt(blob(t, "aes256"), th["crp2"]); r.Err == nil {
		t.Errorf("wrong thumbprint served from cache: %+v", r)
	}
}

func TestRedactSettings(t *testing.T) {
	in := ordereddict.NewDict().
		Set("commandToExecute", "net user backdoor S3cr3t! /add").
		Set("script", []interface{}{"cmdkey /pass:Hunter2", 3}).
		Set("source", ordereddict.NewDict().Set("script", "Set-X -Password pw1")).
		Set("storageAccountKey", "k")
	got := jsonOf(t, RedactSettings(in))
	for _, secret := range []string{"S3cr3t!", "Hunter2", "pw1", `"k"`} {
		if strings.Contains(got, secret) {
			t.Errorf("%s not redacted: %s", secret, got)
		}
	}
	if !strings.Contains(got, "net user backdoor [REDACTED] /add") || jsonOf(t, in) == got {
		t.Errorf("%s", got)
	}
}
