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
