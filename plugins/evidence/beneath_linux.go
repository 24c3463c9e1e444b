//go:build linux

package evidence

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const oNoatime = unix.O_NOATIME

// Folders on the way are opened with O_PATH: search permission is enough
// (a 711 folder can be passed through, as the kernel's own lookup can).
const walkDirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// noOpenat2 is set once openat2 turns out to be missing (kernels before
// 5.6, or a seccomp filter that rejects it): the walk is used from then on.
var noOpenat2 atomic.Bool

// OpenBeneath opens base/rel with openat2(RESOLVE_BENEATH|
// RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS): the kernel refuses any link
// on the way and any escape from base, atomically. Where openat2 is
// missing it walks component by component (walkOpen).
func (OSAccessor) OpenBeneath(base string, rel []string) (File, error) {
	display := filepath.Join(append([]string{base}, rel...)...)
	dirfd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: base, Err: err}
	}
	defer unix.Close(dirfd)
	if len(rel) == 0 {
		return nil, &RefusedError{Op: "open", Path: display, Type: "directory"}
	}
	if !noOpenat2.Load() {
		fd, err := openNoatime(func(extra int) (int, error) {
			return unix.Openat2(dirfd, strings.Join(rel, "/"), &unix.OpenHow{
				Flags:   uint64(fileFlags | extra),
				Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
			})
		})
		switch {
		case err == nil:
			return fileFromFD(fd, display)
		case openat2Missing(err):
			// Walk, now and later.
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), errors.Is(err, unix.ENXIO):
			// A link (or a socket) on the way: the walk finds which and
			// says so, still without following anything.
		default:
			return nil, &os.PathError{Op: "open", Path: display, Err: err}
		}
	}
	return walkOpen(dirfd, rel, display)
}

// ReadDirBeneath lists the folder base/rel opened with openat2(
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) and
// O_DIRECTORY: one call checks that no link is on the way and that the
// folder is below base (Root.ReadDir's Lstat of every component did the
// same, one call each); entries are described relative to the open
// folder, so nothing swapped in meanwhile redirects them. Any error
// (including openat2 missing) sends Root.ReadDir back to its checked
// path, which names what was refused.
func (OSAccessor) ReadDirBeneath(base string, rel []string) ([]FileInfo, error) {
	f, err := openDirBeneath(base, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fd, dir := int(f.Fd()), f.Name()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		full := filepath.Join(dir, e.Name())
		fi, serr := statxAt(fd, e.Name(), full)
		if serr != nil {
			out = append(out, FileInfo{Name: e.Name(), Path: full, IsDir: e.IsDir()})
			continue
		}
		out = append(out, fi)
	}
	return out, nil
}

// ReadDirNamesBeneath is ReadDirNames of the folder base/rel opened as
// ReadDirBeneath opens it: no link on the way, nothing outside base, so
// a folder swapped for a link after it was checked is not listed.
func (OSAccessor) ReadDirNamesBeneath(base string, rel []string) ([]string, []fs.FileMode, error) {
	f, err := openDirBeneath(base, rel)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return namesOf(f)
}

// openDirBeneath opens the folder base/rel with openat2(RESOLVE_BENEATH|
// RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) and O_DIRECTORY.
func openDirBeneath(base string, rel []string) (*os.File, error) {
	if noOpenat2.Load() || len(rel) == 0 {
		return nil, unix.ENOSYS
	}
	dirfd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := openNoatime(func(extra int) (int, error) {
		return unix.Openat2(dirfd, strings.Join(rel, "/"), &unix.OpenHow{
			// Not O_NONBLOCK (dirFlags has it): O_DIRECTORY opens only a
			// folder, which never blocks, and a blocking descriptor keeps
			// os.NewFile from offering it to the poller (a refused
			// epoll_ctl per folder).
			Flags:   uint64((dirFlags &^ unix.O_NONBLOCK) | unix.O_NOFOLLOW | extra),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
	})
	if err != nil {
		openat2Missing(err) // later calls go straight to the checked path
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(append([]string{base}, rel...)...)), nil
}

// openat2Missing is true (and remembered in noOpenat2) when err says
// openat2 is not available here or is filtered (seccomp), not that the
// path was refused.
func openat2Missing(err error) bool {
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.E2BIG) {
		noOpenat2.Store(true)
		return true
	}
	return false
}
