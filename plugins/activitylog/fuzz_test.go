package activitylog

import (
	"bytes"
	"context"
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
