//go:build unix

package evidence

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// fileFlags open evidence: read-only, not through a final link, and
// non-blocking so that a FIFO (or a device) opens at once instead of
// waiting for a writer; fileFromFD then refuses it by its type.
const fileFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_CLOEXEC

// dirFlags open a folder to list it. A link is followed here (Root has
// refused links below the evidence root before it lists; the root itself
// may be the analyst's own link to a mount).
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NONBLOCK | unix.O_CLOEXEC

// openNoatime runs open with O_NOATIME where the platform has it, so a
// live collection leaves access times as the attacker left them; the
// kernel grants it only to the file's owner or with CAP_FOWNER (EPERM
// otherwise), and then the plain open is used.
func openNoatime(open func(extra int) (int, error)) (int, error) {
	if oNoatime != 0 {
		fd, err := open(oNoatime)
		if !errors.Is(err, unix.EPERM) {
			return fd, err
		}
	}
	return open(0)
}

func openFile(path string) (File, error) {
	fd, err := openNoatime(func(extra int) (int, error) {
		return unix.Open(path, fileFlags|extra, 0)
	})
	if err != nil {
		return nil, openErr(unix.AT_FDCWD, path, path, err)
	}
	return fileFromFD(fd, path)
}

func openDir(path string) (*os.File, error) {
	fd, err := openNoatime(func(extra int) (int, error) {
		return unix.Open(path, dirFlags|extra, 0)
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// fileFromFD keeps fd when it is a regular file, else closes it and
// refuses it with its type.
func fileFromFD(fd int, display string) (File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: display, Err: err}
	}
	if t := unixType(uint32(st.Mode)); t != "file" {
		unix.Close(fd)
		return nil, &RefusedError{Op: "open", Path: display, Type: t}
	}
	// A regular file never blocks: back to blocking mode, which keeps
	// os.File off the network poller.
	_ = unix.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), display), nil
}

// openErr turns the error of opening name (relative to dirfd) into a
// refusal when it was a link (ELOOP under O_NOFOLLOW) or a socket (ENXIO).
func openErr(dirfd int, name, display string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return &RefusedError{Op: "open", Path: display, Type: "symlink", Target: readlinkAt(dirfd, name)}
	case errors.Is(err, unix.ENXIO):
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			if t := unixType(uint32(st.Mode)); t != "file" {
				return &RefusedError{Op: "open", Path: display, Type: t}
			}
		}
	}
	return &os.PathError{Op: "open", Path: display, Err: err}
}

func readlinkAt(dirfd int, name string) string {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil || n < 0 {
		return ""
	}
	return string(buf[:n])
}

func unixType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "char-device"
	case unix.S_IFBLK:
		return "device"
	}
	return "irregular"
}

// walkOpen opens rel below dirfd one component at a time, each folder
// with O_NOFOLLOW|O_DIRECTORY and checked with fstat, the file with
// fileFlags: no link is followed and nothing above dirfd is reached,
// whatever is swapped in meanwhile. It is the fallback for openat2.
func walkOpen(dirfd int, rel []string, display string) (File, error) {
	if len(rel) == 0 {
		return nil, &RefusedError{Op: "open", Path: display, Type: "directory"}
	}
	cur := dirfd
	defer func() {
		if cur != dirfd {
			unix.Close(cur)
		}
	}()
	for _, c := range rel[:len(rel)-1] {
		fd, err := unix.Openat(cur, c, walkDirFlags, 0)
		if err != nil {
			var st unix.Stat_t
			if unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && unixType(uint32(st.Mode)) == "symlink" {
				return nil, &RefusedError{Op: "open", Path: display, Type: "symlink", Target: readlinkAt(cur, c)}
			}
			return nil, &os.PathError{Op: "open", Path: display, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || unixType(uint32(st.Mode)) != "directory" {
			unix.Close(fd)
			return nil, &os.PathError{Op: "open", Path: display, Err: unix.ENOTDIR}
		}
		if cur != dirfd {
			unix.Close(cur)
		}
		cur = fd
	}
	last := rel[len(rel)-1]
	fd, err := openNoatime(func(extra int) (int, error) {
		return unix.Openat(cur, last, fileFlags|extra, 0)
	})
	if err != nil {
		return nil, openErr(cur, last, display, err)
	}
	return fileFromFD(fd, display)
}
