package builtins

import "github.com/azvql/azvql/plugins/evidence"

// velociraptorTimes gives fi the times Velociraptor v0.75.2's file
// accessor reports on Windows (accessors/file/os_windows.go, OSFileInfo):
// the full 100 ns times, and Ctime is the last write time (Windows has no
// inode change time in those APIs).
func velociraptorTimes(fi evidence.FileInfo) evidence.FileInfo {
	fi.Ctime = fi.Mtime
	return fi
}
