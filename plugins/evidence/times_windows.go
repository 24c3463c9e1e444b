//go:build windows

package evidence

import (
	"os"
	"syscall"
	"time"
)

func fillTimes(path string, st os.FileInfo, fi *FileInfo) {
	d, ok := st.Sys().(*syscall.Win32FileAttributeData)
	if !ok {
		return
	}
	fi.Atime = time.Unix(0, d.LastAccessTime.Nanoseconds()).UTC()
	fi.Btime = time.Unix(0, d.CreationTime.Nanoseconds()).UTC()
}

func lstatOS(path string) (FileInfo, error) { return lstatSlow(path) }
