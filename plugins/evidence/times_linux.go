//go:build linux

package evidence

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fillTimes adds atime, ctime and (through statx) btime.
func fillTimes(path string, st os.FileInfo, fi *FileInfo) {
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_ALL, &sx); err != nil {
		return
	}
	fi.Atime = time.Unix(sx.Atime.Sec, int64(sx.Atime.Nsec)).UTC()
	fi.Ctime = time.Unix(sx.Ctime.Sec, int64(sx.Ctime.Nsec)).UTC()
	if sx.Mask&unix.STATX_BTIME != 0 {
		fi.Btime = time.Unix(sx.Btime.Sec, int64(sx.Btime.Nsec)).UTC()
	}
}

// lstatOS describes path without following a final link in one statx
// call (Lstat and fillTimes' statx were two); where statx is refused
// (old kernels, seccomp) it falls back to both.
func lstatOS(path string) (FileInfo, error) {
	return statxAt(unix.AT_FDCWD, path, path)
}

// statxAt describes name relative to the folder dirfd (AT_FDCWD: the
// current folder), not following a final link; path is the accessor
// path it gives the entry.
func statxAt(dirfd int, name, path string) (FileInfo, error) {
	var sx unix.Statx_t
	const mask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_SIZE | unix.STATX_ATIME | unix.STATX_MTIME | unix.STATX_CTIME | unix.STATX_BTIME
	for {
		err := unix.Statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, mask, &sx)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOSYS || err == unix.EPERM {
			return lstatSlow(path)
		}
		if err != nil {
			return FileInfo{}, &os.PathError{Op: "lstat", Path: path, Err: err}
		}
		break
	}
	mode := statxMode(uint32(sx.Mode))
	fi := FileInfo{
		Name:   baseName(path),
		Path:   path,
		Size:   int64(sx.Size),
		Mode:   mode,
		IsDir:  mode.IsDir(),
		IsLink: mode&os.ModeSymlink != 0,
		Mtime:  time.Unix(sx.Mtime.Sec, int64(sx.Mtime.Nsec)).UTC(),
		Atime:  time.Unix(sx.Atime.Sec, int64(sx.Atime.Nsec)).UTC(),
		Ctime:  time.Unix(sx.Ctime.Sec, int64(sx.Ctime.Nsec)).UTC(),
	}
	if sx.Mask&unix.STATX_BTIME != 0 {
		fi.Btime = time.Unix(sx.Btime.Sec, int64(sx.Btime.Nsec)).UTC()
	}
	return fi, nil
}

// statxMode is os.FileMode of a st_mode, as os.Lstat converts it.
func statxMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
