//go:build linux

package evidence

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lstatOS (one statx) describes every kind of entry as os.Lstat plus
// fillTimes did.
func TestLstatOSMatchesLstat(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "f"), []byte("abc"), 0o640))
	must(os.Mkdir(filepath.Join(dir, "d"), 0o1755))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "l")))
	must(syscall.Mkfifo(filepath.Join(dir, "p"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "s"), nil, 0o4755|0o2000))
	must(os.Chmod(filepath.Join(dir, "s"), os.ModeSetuid|os.ModeSetgid|0o755))
	for _, n := range []string{"f", "d", "l", "p", "s", "d/"} {
		p := filepath.Join(dir, n)
		if n == "d/" {
			p = dir + "/d/"
		}
		got, err := lstatOS(p)
		want, werr := lstatSlow(p)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: errors %v / %v", n, err, werr)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", n, got, want)
		}
	}
	if _, err := lstatOS(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing: %v", err)
	}
}
