//go:build !unix

package evidence

import (
	"os"
)

// Windows (and other non-Unix hosts) have no O_NOFOLLOW, O_NONBLOCK or
// openat: the file is checked with Lstat just before it is opened
// (Root has checked every folder above it), which leaves a window for a
// file swapped in between on a live system. Windows has no FIFOs in its
// file systems, so nothing found there can block an open.
func openFile(path string) (File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if t := TypeName(st.Mode()); t != "file" {
		re := &RefusedError{Op: "open", Path: path, Type: t}
		if t == "symlink" {
			re.Target, _ = os.Readlink(path)
		}
		return nil, re
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		f.Close()
		return nil, &RefusedError{Op: "open", Path: path, Type: TypeName(st.Mode())}
	}
	return f, nil
}

func openDir(path string) (*os.File, error) {
	return os.Open(path)
}
