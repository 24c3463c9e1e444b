//go:build unix

package goalstate

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Symlinks are not followed (on a mounted image an absolute link points
// into the host) and a FIFO is not opened (it would block).
func TestSymlinksAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	wa := filepath.Join(dir, "var", "lib", "waagent")
	writeFile(t, filepath.Join(wa, "history", "2024-01-01T00-00-02__6", "VmSettings.json"), []byte(`{"extensionGoalStates":[{"name":"X"}]}`))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("/etc/passwd", filepath.Join(wa, "ExtensionsConfig.99.xml")))
	must(os.Symlink("/dev/zero", filepath.Join(wa, "history", "2024-01-01T00-00-09__9.zip")))
	must(syscall.Mkfifo(filepath.Join(wa, "history", "2024-01-01T00-00-02__6", "ExtensionsConfig.7.xml"), 0o644))
	must(os.Symlink(filepath.Join(wa, "history"), filepath.Join(wa, "history", "2024-01-01T00-00-03__7")))

	res := walkDir(t, dir, true)
	logs := res.logText()
	if len(res.Rows) != 1 || res.Rows[0].Handler != "X" {
		t.Errorf("rows: %+v", res.Rows)
	}
	for _, want := range []string{
		"/var/lib/waagent/ExtensionsConfig.99.xml: symlink, not followed",
		hist + "2024-01-01T00-00-09__9.zip: symlink, not followed",
		hist + "2024-01-01T00-00-02__6/ExtensionsConfig.7.xml: not a regular file",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("missing log %q in\n%s", want, logs)
		}
	}
}
