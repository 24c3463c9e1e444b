package telemetry

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

func parse(t *testing.T, data []byte, name string) ([]*ordereddict.Dict, []string) {
	t.Helper()
	var rows []*ordereddict.Dict
	var logs []string
	Parse(data, name, true, func(s string) { logs = append(logs, s) },
		func(r *ordereddict.Dict) bool { rows = append(rows, r); return true })
	return rows, logs
}

func TestExtensionEvents(t *testing.T) {
	data, err := os.ReadFile("testdata/1591905451.json")
	if err != nil {
		t.Fatal(err)
	}
	rows, logs := parse(t, data, `C:\WindowsAzure\Logs\Plugins\Microsoft.Compute.CustomScriptExtension\Events\1591905451.json`)
	if len(logs) != 0 || len(rows) < 5 {
		t.Fatalf("%d rows, logs %v", len(rows), logs)
	}
	r := rows[0]
	if h, _ := r.GetString("Handler"); h != "Microsoft.Compute.CustomScriptExtension" {
		t.Errorf("handler %q", h)
	}
	if m, _ := r.GetString("Message"); m != "Starting IaaS ScriptHandler Extension v1" {
		t.Errorf("msg %q", m)
	}
	if v, _ := r.Get("Pid"); v != int64(3228) {
		t.Errorf("pid %#v", v)
	}
	if v, _ := r.Get("Time"); !v.(time.Time).Equal(time.Date(2019, 12, 12, 1, 20, 5, 95024400, time.UTC)) {
		t.Errorf("time %v", v)
	}
	// Truncated: the events before the damage are kept.
	cut := data[:len(data)/2]
	rows2, logs2 := parse(t, cut, "/var/log/azure/Microsoft.Compute.CustomScriptExtension/events/1.json")
	if len(rows2) == 0 || len(rows2) >= len(rows) || len(logs2) != 1 || !strings.Contains(logs2[0], "truncated") {
		t.Errorf("%d rows, %v", len(rows2), logs2)
	}
}

func TestAgentTelemetry(t *testing.T) {
	data, err := os.ReadFile("testdata/custom_script_1.tld")
	if err != nil {
		t.Fatal(err)
	}
	rows, logs := parse(t, data, "/var/lib/waagent/events/custom_script_1.tld")
	if len(rows) != 1 || len(logs) != 0 {
		t.Fatalf("%d %v", len(rows), logs)
	}
	r := rows[0]
	for k, want := range map[string]any{"Handler": "Microsoft.Azure.Extensions.CustomScript", "Version": "2.0.4",
		"TaskName": "ThisIsATestEventOperation", "Level": "INFO", "Message": "A test telemetry message.", "Format": FormatAgent, "Time": nil} {
		if v, _ := r.Get(k); v != want {
			t.Errorf("%s = %#v, want %#v", k, v, want)
		}
	}
	if got := timeFromName("/var/lib/waagent/events/1714644669123456.tld"); !got.Equal(time.UnixMicro(1714644669123456)) {
		t.Errorf("%v", got)
	}
}

func TestBad(t *testing.T) {
	for _, in := range []string{"", "garbage", "[1, {\"Message\": \"x\"}, ", "\xff\xfe[\x00]\x00", "{\"parameters\": 5}"} {
		rows, logs := parse(t, []byte(in), "/x/1.json")
		_ = rows
		if in != "\xff\xfe[\x00]\x00" && in != "{\"parameters\": 5}" && len(logs) == 0 {
			t.Errorf("%q: no log", in)
		}
	}
}
