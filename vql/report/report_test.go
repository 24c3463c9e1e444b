package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

func exec(handler string, seq int64, started, finished interface{}, src string, extra ...interface{}) *ordereddict.Dict {
	d := ordereddict.NewDict().Set("Handler", handler).Set("ExtensionName", nil).Set("SeqNo", seq).
		Set("Kind", "RunCommand").Set("Command", "id").Set("CommandSource", src).
		Set("Started", started).Set("Finished", finished).Set("Status", "success").Set("ExitCode", nil)
	for i := 0; i+1 < len(extra); i += 2 {
		d.Set(extra[i].(string), extra[i+1])
	}
	return d
}

func TestRenderFindingsAndChart(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	in := Input{Root: "vm01", Executions: []*ordereddict.Dict{
		exec("A", 0, t0, t0.Add(time.Minute), "protectedSettings"),
		exec("A", 1, nil, t0.Add(time.Hour), "goalstate", "SettingsEmpty", true, "SettingsMtime", t0.Add(2*time.Hour)),
		exec("B", 0, nil, nil, "settings", "ExitCode", int64(2), "Status", "error"),
		exec("B", 1, t0.Add(3*time.Hour), nil, "settings", "Running", true, "TimeConflict", "settings.mtime is after status.timestamp: file times not preserved?"),
	}}
	var buf bytes.Buffer
	if err := Render(&buf, in); err != nil {
		t.Fatal(err)
	}
	h := buf.String()
	// three executions have a time (bars), one settings file was emptied (a cross)
	if n := strings.Count(h, `class="mark exec"`); n != 3 {
		t.Errorf("%d execution marks, want 3", n)
	}
	if n := strings.Count(h, `class="mark del"`); n != 1 {
		t.Errorf("%d deletion marks, want 1", n)
	}
	if n := strings.Count(h, `class="lane-label"`); n != 2 {
		t.Errorf("%d lanes, want 2 (handlers A and B)", n)
	}
	for _, want := range []string{
		`<li class="decrypted">`, `<li class="recovered">`, `<li class="deleted">`, `<li class="failed">`,
		`<li class="running">`, `<li class="time">`, "Activity Log not read",
		"A seq 0: command recovered by decrypting its protected settings: id",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(h, "http://") || strings.Contains(h, "https://") {
		t.Error("page refers to the network")
	}
	// With the Activity Log read: no note; a run with no control-plane
	// record and a deletion are findings.
	buf.Reset()
	in.ActivityLog = true
	in.WhoRanIt = []*ordereddict.Dict{
		ordereddict.NewDict().Set("Match", "Matched").Set("Handler", "A").Set("SeqNo", int64(0)),
		ordereddict.NewDict().Set("Match", "NoControlPlaneRecord").Set("Handler", "A").Set("SeqNo", int64(1)).Set("Reason", "no operation"),
	}
	in.NoTrace = []*ordereddict.Dict{ordereddict.NewDict().Set("Match", "Deletion").Set("Operation", "extensions/delete").
		Set("Caller", "x@y").Set("OperationStart", t0)}
	Render(&buf, in)
	h = buf.String()
	if strings.Contains(h, "Activity Log not read") {
		t.Error("note shown although the Activity Log was read")
	}
	if n := strings.Count(h, `<li class="nocontrol">`); n != 1 {
		t.Errorf("%d no-control-plane findings, want 1 (seq 1)", n)
	}
	if !strings.Contains(h, "extensions/delete by x@y at 2025-03-14T09:00:00Z (extension deleted)") {
		t.Error("deletion from the Activity Log not among the findings")
	}
}

func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Input{Root: "empty"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `id="chart-empty"`) {
		t.Error("an empty tree should say there is nothing to draw")
	}
}
