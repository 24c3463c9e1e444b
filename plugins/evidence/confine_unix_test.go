//go:build unix

package evidence

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// confineTree: base/a/b/f (regular), base/a/link -> outside, base/a/b/l ->
// outside/secret, base/a/b/p (FIFO), and outside/secret.
func confineTree(t *testing.T) (base, outside string) {
	t.Helper()
	outside = t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("OUTSIDE"), 0o644)
	os.MkdirAll(filepath.Join(outside, "b"), 0o755)
	os.WriteFile(filepath.Join(outside, "b", "f"), []byte("OUTSIDE"), 0o644)
	base = mkTree(t, map[string]string{"a/b/f": "inside"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(base, "a", "link")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(base, "a", "b", "l")))
	must(unix.Mkfifo(filepath.Join(base, "a", "b", "p"), 0o644))
	return base, outside
}

// Both ways of opening below the root: openat2 and the O_NOFOLLOW walk.
func bothOpeners(t *testing.T, f func(t *testing.T)) {
	for _, walk := range []bool{false, true} {
		name := "openat2"
		if walk {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			if walk {
				setNoOpenat2(t)
			}
			f(t)
		})
	}
}

func readAllWithin(t *testing.T, r *Root, p string) (string, error) {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := r.Open(p)
		if err != nil {
			ch <- res{"", err}
			return
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		ch <- res{string(b), err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(10 * time.Second):
		t.Fatalf("open %s blocked", p)
	}
	return "", nil
}

func TestOpenConfinedToRoot(t *testing.T) {
	bothOpeners(t, func(t *testing.T) {
		base, outside := confineTree(t)
		r := NewRoot(OSAccessor{}, base)
		if s, err := readAllWithin(t, r, "/a/b/f"); err != nil || s != "inside" {
			t.Fatalf("regular file: %q %v", s, err)
		}
		// A link in the middle of the path.
		_, err := readAllWithin(t, r, "/a/link/b/f")
		var re *RefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrSymlink) || re.At != "/a/link" || re.Target != outside || re.Path != "/a/link/b/f" {
			t.Errorf("intermediate link: %#v", err)
		}
		if err != nil && (!strings.Contains(err.Error(), "/a/link is a symlink to") || strings.Contains(err.Error(), base)) {
			t.Errorf("message: %v", err)
		}
		// A link as the last component.
		_, err = readAllWithin(t, r, "/a/b/l")
		if !errors.As(err, &re) || !errors.Is(err, ErrSymlink) || re.Target != filepath.Join(outside, "secret") {
			t.Errorf("last link: %#v", err)
		}
		// A FIFO: refused by type, without blocking.
		_, err = readAllWithin(t, r, "/a/b/p")
		if !errors.As(err, &re) || !errors.Is(err, ErrNotRegular) || re.Type != "fifo" || !strings.Contains(err.Error(), "/a/b/p: a fifo") {
			t.Errorf("fifo: %v", err)
		}
		// A folder.
		if _, err = readAllWithin(t, r, "/a/b"); !errors.Is(err, ErrNotRegular) {
			t.Errorf("folder: %v", err)
		}
		// Listings and Lstat are confined too; Lstat reports a final link.
		if _, err := r.ReadDir("/a/link/b"); !errors.Is(err, ErrSymlink) {
			t.Errorf("ReadDir through a link: %v", err)
		}
		if _, err := r.ReadDir("/a/link"); !errors.Is(err, ErrSymlink) {
			t.Errorf("ReadDir of a link: %v", err)
		}
		if _, err := r.Lstat("/a/link/secret"); !errors.Is(err, ErrSymlink) {
			t.Errorf("Lstat through a link: %v", err)
		}
		if e, err := r.Lstat("/a/link"); err != nil || !e.IsLink || e.Target != outside {
			t.Errorf("Lstat of a link: %+v %v", e, err)
		}
	})
}

// The check before the open and the open itself are separate: what is
// swapped in between must still be refused by the opener, at once.
func TestOpenBeneathRefusesWhatWasSwappedIn(t *testing.T) {
	bothOpeners(t, func(t *testing.T) {
		base, _ := confineTree(t)
		for _, rel := range [][]string{{"a", "b", "p"}, {"a", "link", "secret"}, {"a", "b", "l"}} {
			done := make(chan error, 1)
			go func() {
				f, err := OSAccessor{}.OpenBeneath(base, rel)
				if f != nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !IsRefused(err) {
					t.Errorf("%v: %v", rel, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%v: blocked", rel)
			}
		}
	})
}

// The OS accessor given a path directly (keys=, filename=) never blocks
// on a FIFO and never follows a final link.
func TestOSAccessorOpen(t *testing.T) {
	base, _ := confineTree(t)
	for _, p := range []string{"a/b/p", "a/b/l", "a/b"} {
		f, err := OSAccessor{}.Open(filepath.Join(base, p))
		if err == nil {
			f.Close()
		}
		if !IsRefused(err) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := OpenFile(OSAccessor{}, filepath.Join(base, "a", "b", "l")); !errors.Is(err, ErrSymlink) {
		t.Errorf("OpenFile of a link: %v", err)
	}
}

// Reading evidence leaves its access time as it was, where the kernel
// grants O_NOATIME (the test owns the file, so it does on Linux).
func TestOpenKeepsAccessTime(t *testing.T) {
	if oNoatime == 0 {
		t.Skip("no O_NOATIME on this OS")
	}
	bothOpeners(t, func(t *testing.T) {
		base := mkTree(t, map[string]string{"f": "content"})
		p := filepath.Join(base, "f")
		old := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
		if err := os.Chtimes(p, old, old.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s, err := readAllWithin(t, NewRoot(OSAccessor{}, base), "/f"); err != nil || s != "content" {
			t.Fatalf("%q %v", s, err)
		}
		fi, err := OSAccessor{}.Lstat(p)
		if err != nil || fi.Atime.IsZero() {
			t.Skip("no atime from statx")
		}
		if !fi.Atime.Equal(old) {
			t.Errorf("atime changed: %v -> %v", old, fi.Atime)
		}
	})
}

func TestCheckRootAndLayout(t *testing.T) {
	base := mkTree(t, map[string]string{"var/log/x": "1"})
	if err := NewRoot(OSAccessor{}, base).CheckRoot(); err != nil {
		t.Errorf("CheckRoot: %v", err)
	}
	if err := NewRoot(OSAccessor{}, base).CheckLayout(); err != nil {
		t.Errorf("CheckLayout: %v", err)
	}
	err := NewRoot(OSAccessor{}, base+"/missing").CheckRoot()
	if !errors.Is(err, ErrBadRoot) || !strings.Contains(err.Error(), "missing\": does not exist") {
		t.Errorf("missing root: %v", err)
	}
	if err := NewRoot(OSAccessor{}, filepath.Join(base, "var", "log", "x")).CheckRoot(); !errors.Is(err, ErrBadRoot) {
		t.Errorf("file as root: %v", err)
	}
	empty := t.TempDir()
	err = NewRoot(OSAccessor{}, empty).CheckLayout()
	if !errors.Is(err, ErrNoLayout) || !strings.Contains(err.Error(), "is this the root of the VM's file system?") {
		t.Errorf("empty root: %v", err)
	}
	// The layout behind a link: the warning names the link.
	os.Symlink(filepath.Join(base, "var"), filepath.Join(empty, "var"))
	err = NewRoot(OSAccessor{}, empty).CheckLayout()
	if !errors.Is(err, ErrNoLayout) || !strings.Contains(err.Error(), "/var is a symlink") {
		t.Errorf("linked /var: %v", err)
	}
	// Windows layout, any case.
	win := mkTree(t, map[string]string{"windowsazure/Logs/x": "1"})
	if err := NewRoot(OSAccessor{}, win).CheckLayout(); err != nil {
		t.Errorf("windows layout: %v", err)
	}
	// The root itself may be a link (the analyst's mount point).
	l := filepath.Join(t.TempDir(), "mnt")
	os.Symlink(base, l)
	r := NewRoot(OSAccessor{}, l)
	if err := r.CheckRoot(); err != nil {
		t.Errorf("linked root: %v", err)
	}
	if list, err := r.ReadDir("/"); err != nil || len(list) != 1 {
		t.Errorf("ReadDir of a linked root: %v %v", list, err)
	}
}
