package builtins_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// glob() and stat() report Mtime, Atime and Ctime in whole seconds and
// no Btime on Linux, as Velociraptor's Linux file accessor does.
func TestFileTimesWholeSecondsLinux(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2025, 3, 14, 9, 12, 3, 997702000, time.UTC)
	if err := os.Chtimes(f, mt, mt); err != nil {
		t.Fatal(err)
	}
	s := newScope(t, dir, nil)
	check(t, s, dir, `SELECT Mtime, Atime, Btime FROM glob(globs='/f.txt', root=D)`,
		`[{"Mtime":"2025-03-14T09:12:03Z","Atime":"2025-03-14T09:12:03Z","Btime":"0001-01-01T00:00:00Z"}]`)
	check(t, s, dir, `SELECT Mtime, Ctime.Nanosecond AS CtimeNs FROM stat(filename=D + '/f.txt')`,
		`[{"Mtime":"2025-03-14T09:12:03Z","CtimeNs":0}]`)
}
