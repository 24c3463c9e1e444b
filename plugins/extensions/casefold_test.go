package extensions

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// On a copy of a Windows disk that holds several spellings of Packages or
// RuntimeSettings (a case-sensitive file system), the handlers and
// executions walkers read every spelling, as the case-insensitive settings
// globs do (issue 11 §3).
func TestWindowsSpellingsAllRead(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "tests", "fixtures", "windows", "Packages", "Plugins", "Microsoft.CPlat.Core.RunCommandWindows")
	vers, err := os.ReadDir(src)
	if err != nil || len(vers) == 0 {
		t.Fatal(err)
	}
	ver := vers[0].Name()
	settings, err := os.ReadFile(filepath.Join(src, ver, "RuntimeSettings", "0.settings"))
	if err != nil {
		t.Fatal(err)
	}
	put := func(rel string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, settings, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := "/Plugins/Microsoft.CPlat.Core.RunCommandWindows/" + ver
	put("Packages" + h + "/RuntimeSettings/0.settings")
	put("Packages" + h + "/runtimesettings/1.settings")
	put("packages" + h + "/RuntimeSettings/2.settings")
	put("packages" + h + "/RuntimeSettings/0.settings") // same execution as the first

	r := evidence.NewRoot(evidence.OSAccessor{}, dir)
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, f) }
	if hd := ListHandlers(r, logf); len(hd) != 3 {
		t.Errorf("handler dirs: %d, want 3 (Packages RuntimeSettings, Packages runtimesettings, packages)", len(hd))
	}
	var seqs []string
	var lines []string
	WalkExecutions(context.Background(), r, true, func(f string, a ...any) {
		lines = append(lines, strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(f, a...), "\\", "/")))
	}, func(d *ordereddict.Dict) bool {
		v, _ := d.Get("SettingsPath")
		s, _ := v.(string)
		seqs = append(seqs, strings.ReplaceAll(s, "\\", "/"))
		return true
	})
	sort.Strings(seqs)
	want := []string{ // seq 0 twice: the row reads the second copy, the log names both
		"C:/Packages" + h + "/runtimesettings/1.settings",
		"C:/packages" + h + "/RuntimeSettings/0.settings",
		"C:/packages" + h + "/RuntimeSettings/2.settings",
	}
	if strings.Join(seqs, "\n") != strings.Join(want, "\n") {
		t.Errorf("executions' settings:\n%s\nwant\n%s", strings.Join(seqs, "\n"), strings.Join(want, "\n"))
	}
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "two settings files for one execution") {
		t.Errorf("no message for the two copies of seq 0:\n%s", joined)
	}
}
