//go:build linux || freebsd

package builtins

import (
	"time"

	"github.com/azvql/azvql/plugins/evidence"
)

// velociraptorTimes gives fi the times Velociraptor v0.75.2's file
// accessor reports on this OS. Linux and FreeBSD
// (accessors/file/accessor_linux.go, accessor_freebsd.go, OSFileInfo):
// Mtime, Atime and Ctime in whole seconds (time.Unix(Sec, 0)), no Btime.
func velociraptorTimes(fi evidence.FileInfo) evidence.FileInfo {
	fi.Mtime = wholeSeconds(fi.Mtime)
	fi.Atime = wholeSeconds(fi.Atime)
	fi.Ctime = wholeSeconds(fi.Ctime)
	fi.Btime = time.Time{}
	return fi
}

func wholeSeconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0).UTC()
}
