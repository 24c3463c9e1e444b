package extensions

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// The walk's index keeps a run's files by folder number and builds their
// names when the run is emitted; names that are not the handler's own
// (leading zeros, another letter case of the extension) keep the name
// found, as the listing gave it, and two files for one run are reported
// and the later in name order is read.
func TestWalkOddNames(t *testing.T) {
	root := t.TempDir()
	h := "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/"
	dl := "var/lib/waagent/run-command/download/"
	set := `{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"id"}}}]}`
	for rel, content := range map[string]string{
		h + "config/007.settings": set, h + "config/8.Settings": set, h + "config/08.settings": set,
		h + "status/7.STATUS": `[{"status":{"status":"success"}}]`, h + "status/8.status123": "x",
		dl + "007/script.sh": "id\n", dl + "08/script.sh": "id\n", dl + "8/stdout": "",
	} {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	acc, _ := evidence.Get(nil, "file")
	var logs, rows []string
	WalkExecutions(context.Background(), evidence.NewRoot(acc, root), true, func(f string, a ...any) {
		logs = append(logs, fmt.Sprintf(f, a...))
	}, func(r *ordereddict.Dict) bool {
		var b strings.Builder
		for _, c := range []string{"SeqNo", "SettingsPath", "StatusPath", "WorkingDir", "StatusLeftovers", "RelatedPaths", "HandlerVersion"} {
			v, _ := r.Get(c)
			fmt.Fprintf(&b, "%s=%v ", c, v)
		}
		rows = append(rows, b.String())
		return true
	})
	H, D := "/"+h, "/"+dl
	want := []string{
		"SeqNo=7 SettingsPath=" + H + "config/007.settings StatusPath=" + H + "status/7.STATUS WorkingDir=" + D + "007 StatusLeftovers=<nil> RelatedPaths=<nil> HandlerVersion=1.0.5 ",
		"SeqNo=8 SettingsPath=" + H + "config/8.Settings StatusPath=<nil> WorkingDir=" + D + "08 StatusLeftovers=[" + H + "status/8.status123] RelatedPaths=[" + D + "8] HandlerVersion=1.0.5 ",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	wantLog := H + "config/08.settings and " + H + "config/8.Settings: two settings files for one execution"
	if len(logs) != 1 || !strings.HasPrefix(logs[0], wantLog) {
		t.Errorf("logs %q, want one starting %q", logs, wantLog)
	}
}
