package evidence

import (
	"os"
	"path/filepath"
	"testing"
)

// List gives ReadDir's entries (same order, names, types, paths and
// descriptions) and its refusals.
func TestListMatchesReadDir(t *testing.T) {
	base := t.TempDir()
	d := filepath.Join(base, "var", "x")
	if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b.status", "a.settings", "10.settings"} {
		if err := os.WriteFile(filepath.Join(d, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc", filepath.Join(d, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(d, filepath.Join(base, "var", "y")); err != nil {
		t.Fatal(err)
	}
	r := NewRoot(OSAccessor{}, base)
	want, err := r.ReadDir("/var/x")
	if err != nil {
		t.Fatal(err)
	}
	l, err := r.List("/var/x")
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != len(want) {
		t.Fatalf("%d entries, want %d", l.Len(), len(want))
	}
	for i, w := range want {
		e := l.Entry(i)
		if l.Name(i) != w.Name || l.OSPath(i) != w.OSPath || l.IsDir(i) != w.IsDir || l.IsLink(i) != w.IsLink {
			t.Errorf("%d: %s %s dir=%v link=%v, want %s %s dir=%v link=%v", i, l.Name(i), l.OSPath(i), l.IsDir(i), l.IsLink(i), w.Name, w.OSPath, w.IsDir, w.IsLink)
		}
		if e.OSPath != w.OSPath || e.Size != w.Size || !e.Mtime.Equal(w.Mtime) || e.Target != w.Target || e.Mode != w.Mode {
			t.Errorf("%d: entry %+v, want %+v", i, e, w)
		}
	}
	if _, err := r.List("/var/y"); !IsRefused(err) {
		t.Errorf("a linked folder: %v, want refused", err)
	}
	// ReadDir's one-call path (openat2) refuses a link on the way as its
	// checked path does, naming it.
	for _, p := range []string{"/var/y", "/var/y/sub", "/var/x/link"} {
		if _, err := r.ReadDir(p); !IsRefused(err) {
			t.Errorf("ReadDir %s: %v, want refused", p, err)
		}
	}
	if _, err := r.List("/var/none"); !IsNotExist(err) {
		t.Errorf("absent: %v", err)
	}
}
