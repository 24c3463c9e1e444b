package redact

import (
	"encoding/json"
	"testing"

	"github.com/Velocidex/ordereddict"
)

func TestString(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "echo hello", "echo hello"},
		{"sas url",
			"https://acct.blob.core.windows.net/c/x.sh?sv=2021-08-06&se=2024-05-03T10%3A00%3A00Z&sr=b&sp=r&sig=AbC%2Bdef%2F123%3D",
			"https://acct.blob.core.windows.net/c/x.sh?sv=2021-08-06&se=2024-05-03T10%3A00%3A00Z&sr=b&sp=r&sig=[REDACTED]"},
		{"sig first, params after",
			"https://a.blob.core.windows.net/c/x?sig=abc%3D&sv=2020-02-10&sp=r",
			"https://a.blob.core.windows.net/c/x?sig=[REDACTED]&sv=2020-02-10&sp=r"},
		{"uppercase SIG", "https://a/b?SV=1&SIG=XyZ%3d%3d", "https://a/b?SV=1&SIG=[REDACTED]"},
		{"percent-encoded inside another url",
			"https://x/y?target=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D1%26sig%3DAbC%252B%26sp%3Dr",
			"https://x/y?target=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D1%26sig%3D[REDACTED]%26sp%3Dr"},
		{"not a parameter", "config=signature&design=sigma", "config=signature&design=sigma"},
		{"json in string",
			`{"fileUris":["https://a/b?sv=1&sig=Zm9v%3D"],"storageAccountKey":"bXlrZXk9PQ==","storageAccountName":"acct"}`,
			`{"fileUris":["https://a/b?sv=1&sig=[REDACTED]"],"storageAccountKey":"[REDACTED]","storageAccountName":"acct"}`},
		{"escaped json in string",
			`{\"runAsPassword\":\"P@ss\",\"runAsUser\":\"bob\"}`,
			`{\"runAsPassword\":\"[REDACTED]\",\"runAsUser\":\"bob\"}`},
		{"connection string",
			"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk9PQ==;EndpointSuffix=core.windows.net",
			"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"},
		{"az cli flag", "az storage blob upload --account-name a --account-key 'abc=='", "az storage blob upload --account-name a --account-key '[REDACTED]'"},
		{"runas log line",
			`time=2024-05-02T10:20:30Z message="RunAs cmd is echo S3cret! | sudo -S -u bob /home/bob/script.sh"`,
			`time=2024-05-02T10:20:30Z message="RunAs cmd is echo [REDACTED] | sudo -S -u bob /home/bob/script.sh"`},
		{"protectedParameters in text",
			`"protectedParameters":[{"name":"TOKEN","value":"abc"},{"name":"B","value":"d e"}],"x":1`,
			`"protectedParameters":[{"name":"TOKEN","value":"[REDACTED]"},{"name":"B","value":"[REDACTED]"}],"x":1`},
		{"idempotent", "https://a/b?sig=[REDACTED]&sv=1", "https://a/b?sig=[REDACTED]&sv=1"},
		{"xml amp", "https://a/b?sv=1&amp;sig=abc&amp;sp=r", "https://a/b?sv=1&amp;sig=[REDACTED]&amp;sp=r"},
		{"sas token alone", "?sv=2019-02-02&sig=abc", "?sv=2019-02-02&sig=[REDACTED]"},
		{"sig at start", "sig=abc&sv=1", "sig=[REDACTED]&sv=1"},
	}
	for _, c := range cases {
		got := String(c.in)
		if got != c.want {
			t.Errorf("%s:\n in   %s\n got  %s\n want %s", c.name, c.in, got, c.want)
		}
		if again := String(got); again != got {
			t.Errorf("%s: not idempotent: %s", c.name, again)
		}
	}
}

func TestValue(t *testing.T) {
	src := `{"commandToExecute":"curl -o x 'https://a.blob.core.windows.net/c/x?sv=1&sig=S%3D'",
"fileUris":["https://a.blob.core.windows.net/c/x.sh?sv=1&SIG=T%3D%3D"],
"StorageAccountKey":"a2V5","storageAccountName":"acct","runAsUser":"bob","RUNASPASSWORD":"pw","password":"",
"protectedParameters":[{"name":"SECRET","value":"v1"},{"Name":"X","Value":"v2"}],
"nested":{"deeper":[{"storageAccountKey":"k"}]}}`
	d := ordereddict.NewDict()
	if err := json.Unmarshal([]byte(src), d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(Value(d))
	want := `{"commandToExecute":"curl -o x 'https://a.blob.core.windows.net/c/x?sv=1\u0026sig=[REDACTED]'","fileUris":["https://a.blob.core.windows.net/c/x.sh?sv=1\u0026SIG=[REDACTED]"],"StorageAccountKey":"[REDACTED]","storageAccountName":"acct","runAsUser":"bob","RUNASPASSWORD":"[REDACTED]","password":"","protectedParameters":[{"name":"SECRET","value":"[REDACTED]"},{"Name":"X","Value":"[REDACTED]"}],"nested":{"deeper":[{"storageAccountKey":"[REDACTED]"}]}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The input is not modified.
	if v, _ := d.Get("StorageAccountKey"); v != "a2V5" {
		t.Errorf("input modified: %v", v)
	}

	var m map[string]any
	_ = json.Unmarshal([]byte(src), &m)
	rm := Value(m).(map[string]any)
	if rm["StorageAccountKey"] != Marker || rm["storageAccountName"] != "acct" {
		t.Errorf("map: %v", rm)
	}
	pp := rm["protectedParameters"].([]any)[0].(map[string]any)
	if pp["name"] != "SECRET" || pp["value"] != Marker {
		t.Errorf("map protectedParameters: %v", pp)
	}
	if Value(nil) != nil {
		t.Error("nil")
	}
}

func FuzzString(f *testing.F) {
	f.Add("https://a/b?sv=1&sig=abc%3D")
	f.Add(`{"storageAccountKey":"x"}`)
	f.Add("echo pw | sudo -S -u x")
	f.Add(`"protectedParameters":[{"name":"a","value":"b\"c"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if String(out) != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, String(out))
		}
	})
}

func TestCommandLine(t *testing.T) {
	for in, want := range map[string]string{
		`Asynchronously executing command: 'powershell -ExecutionPolicy Bypass -Command "cmdkey /generic:10.0.5.20 /user:CORP\backup /pass:Wint3r!Backup#7; robocopy C:\a \\10.0.5.20\drop /E"'`: `Asynchronously executing command: 'powershell -ExecutionPolicy Bypass -Command "cmdkey /generic:10.0.5.20 /user:CORP\backup /pass:[REDACTED]; robocopy C:\a \\10.0.5.20\drop /E"'`,
		`net use Z: \\srv\share /user:x /password:"p w"`:            `net use Z: \\srv\share /user:x /password:"[REDACTED]"`,
		`.\setup.ps1 -AdminPassword 'S3cret!' -User bob`:            `.\setup.ps1 -AdminPassword '[REDACTED]' -User bob`,
		`New-LocalUser -Name x -Password $pw`:                       `New-LocalUser -Name x -Password [REDACTED]`,
		`$p = ConvertTo-SecureString 'P@ss' -AsPlainText -Force`:    `$p = ConvertTo-SecureString '[REDACTED]' -AsPlainText -Force`,
		`net user backdoor Passw0rd! /add`:                          `net user backdoor [REDACTED] /add`,
		`net user bob /delete`:                                      `net user bob /delete`,
		`schtasks /create /ru admin /rp hunter2 /tn x`:              `schtasks /create /ru admin /rp [REDACTED] /tn x`,
		`echo Depl0y!Passw0rd#2025 | sudo -S -u deploy x.sh`:        `echo [REDACTED] | sudo -S -u deploy x.sh`,
		`robocopy C:\a D:\b /PURGE -PasswordFile c:\x`:              `robocopy C:\a D:\b /PURGE -PasswordFile c:\x`,
		`https://a.blob.core.windows.net/c/x.ps1?sv=1&sig=abc%3D&x`: `https://a.blob.core.windows.net/c/x.ps1?sv=1&sig=[REDACTED]&x`,
	} {
		if got := CommandLine(in); got != want {
			t.Errorf("\n in  %s\n got %s\nwant %s", in, got, want)
		}
		if got := CommandLine(CommandLine(in)); got != want {
			t.Errorf("not idempotent: %s", got)
		}
	}
}

func TestSigEndsAtColon(t *testing.T) {
	in := `http request failed: https://a.blob.core.windows.net/s/x.sh?sv=1&sig=AbC%3D: 403`
	want := `http request failed: https://a.blob.core.windows.net/s/x.sh?sv=1&sig=[REDACTED]: 403`
	if got := String(in); got != want {
		t.Errorf("got %s", got)
	}
}
