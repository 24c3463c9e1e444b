package protected

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

func runQuery(t *testing.T, query string, vars *ordereddict.Dict) []*ordereddict.Dict {
	t.Helper()
	scope := vfilter.NewScope().AppendVars(vars)
	scope.AppendFunctions(Functions()...)
	vql, err := vfilter.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ordereddict.Dict
	for row := range vql.Eval(context.Background(), scope) {
		d, ok := row.(*ordereddict.Dict)
		if !ok {
			t.Fatalf("row %T", row)
		}
		v, _ := d.Get("R")
		r, ok := v.(*ordereddict.Dict)
		if !ok {
			t.Fatalf("R is %T %v", v, v)
		}
		out = append(out, r)
	}
	return out
}

func TestAzureDecryptFunction(t *testing.T) {
	th := thumbs(t)
	vars := ordereddict.NewDict().
		Set("Blob", blob(t, "aes256")).
		Set("Thumb", th["crp1"]).
		Set("Root", abs(t, "root-crtprv")).
		Set("PFX", abs(t, "keys/crp1-password.pfx")).
		Set("NoKeys", abs(t, "keys"))

	// Keys discovered under root=, redacted by default.
	rows := runQuery(t, `SELECT azure_decrypt(data=Blob, thumbprint=Thumb, root=Root) AS R FROM scope()`, vars)
	if len(rows) != 1 {
		t.Fatal(rows)
	}
	r := rows[0]
	if !reflect.DeepEqual(r.Keys(), []string{"Plaintext", "Thumbprint", "Cipher", "KeySource", "Error"}) {
		t.Fatalf("columns %v", r.Keys())
	}
	get := func(d *ordereddict.Dict, k string) interface{} { v, _ := d.Get(k); return v }
	if get(r, "Error") != nil || get(r, "Cipher") != "aes-256-cbc" || get(r, "Thumbprint") != th["crp1"] ||
		get(r, "KeySource") != "/var/lib/waagent/"+th["crp1"]+".prv" {
		t.Fatalf("row %v", r)
	}
	plain := get(r, "Plaintext").(*ordereddict.Dict)
	js := jsonOf(t, plain)
	for _, secret := range []string{"Hunter2!", "p4ramS3cret", "AbCdEf", "XyZ"} {
		if strings.Contains(js, secret) {
			t.Errorf("secret %q not redacted: %s", secret, js)
		}
	}
	if !strings.Contains(js, `"name":"Token"`) || !strings.Contains(js, "[REDACTED]") {
		t.Errorf("redacted plaintext lost its shape: %s", js)
	}

	// redact=false, keys= a PKCS#12 with its password, root without waagent.
	rows = runQuery(t, `SELECT azure_decrypt(data=Blob, thumbprint=Thumb, keys=[PFX], password='Test-Passw0rd', root=NoKeys, redact=false) AS R FROM scope()`, vars)
	r = rows[0]
	if get(r, "Error") != nil || get(r, "KeySource") != abs(t, "keys/crp1-password.pfx") {
		t.Fatalf("row %v", r)
	}
	if js := jsonOf(t, get(r, "Plaintext")); !strings.Contains(js, "Hunter2!") || !strings.Contains(js, "p4ramS3cret") {
		t.Errorf("redact=false: %s", js)
	}

	// Errors are in the row, not fatal.
	rows = runQuery(t, `SELECT azure_decrypt(data='bm90IGNtcw==', thumbprint=Thumb, root=Root) AS R FROM scope()`, vars)
	r = rows[0]
	if e, _ := get(r, "Error").(string); !strings.HasPrefix(e, "corrupt blob") || get(r, "Plaintext") != nil {
		t.Fatalf("row %v", r)
	}
	// A thumbprint no key has, but the blob's recipient is a loaded key:
	// the blob's own recipient info wins, and the row names the real key.
	rows = runQuery(t, `SELECT azure_decrypt(data=Blob, thumbprint='C8F2B56B0E79B592334BA0AFFFE172EB3DEF6753', root=Root) AS R FROM scope()`, vars)
	if get(rows[0], "Error") != nil || get(rows[0], "Thumbprint") != th["crp1"] {
		t.Fatalf("row %v", rows[0])
	}
	// No key at all for the recipient.
	vars.Set("Blob2", blob(t, "crp2")).Set("Thumb2", th["crp2"])
	rows = runQuery(t, `SELECT azure_decrypt(data=Blob2, thumbprint=Thumb2, keys=[PFX], password='Test-Passw0rd', root=NoKeys) AS R FROM scope()`, vars)
	if e, _ := get(rows[0], "Error").(string); !strings.Contains(e, "no key for thumbprint "+th["crp2"]) ||
		get(rows[0], "Cipher") != "des-ede3-cbc" || get(rows[0], "Thumbprint") != th["crp2"] {
		t.Fatalf("row %v", rows[0])
	}
}

func TestFunctionInfo(t *testing.T) {
	scope := vfilter.NewScope()
	info := DecryptFunction{}.Info(scope, types.NewTypeMap())
	if info.Name != "azure_decrypt" || info.Version < 1 {
		t.Fatalf("%+v", info)
	}
	typ := reflect.TypeOf(DecryptArgs{})
	for i := 0; i < typ.NumField(); i++ {
		tag := typ.Field(i).Tag.Get("vfilter")
		if !strings.Contains(tag, ",doc=") {
			t.Errorf("%s: no doc=", typ.Field(i).Name)
		}
	}
}
