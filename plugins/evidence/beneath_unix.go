//go:build unix && !linux

package evidence

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// No O_NOATIME outside Linux (the BSDs and macOS have no such flag):
// reading there updates access times as the mount options say.
const oNoatime = 0

// No O_PATH: folders on the way need read permission.
const walkDirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// OpenBeneath opens base/rel component by component with O_NOFOLLOW
// (walkOpen): no link is followed and nothing above base is reached.
func (OSAccessor) OpenBeneath(base string, rel []string) (File, error) {
	display := filepath.Join(append([]string{base}, rel...)...)
	dirfd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: base, Err: err}
	}
	defer unix.Close(dirfd)
	return walkOpen(dirfd, rel, display)
}
