//go:build darwin || freebsd

package evidence

import (
	"os"
	"syscall"
	"time"
)

func fillTimes(path string, st os.FileInfo, fi *FileInfo) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		fi.Atime = time.Unix(s.Atimespec.Unix()).UTC()
		fi.Ctime = time.Unix(s.Ctimespec.Unix()).UTC()
		fi.Btime = time.Unix(s.Birthtimespec.Unix()).UTC()
	}
}

func lstatOS(path string) (FileInfo, error) { return lstatSlow(path) }
