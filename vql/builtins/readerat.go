package builtins

import (
	"errors"
	"io"
)

// readerAtOf is an opened file as the random-access reader and size the
// binary parsers (evtx, journald, NTFS) walk; an accessor whose files
// cannot seek is an error the caller reports with the file's name.
func readerAtOf(fd io.Reader) (io.ReaderAt, int64, error) {
	ra, ok := fd.(io.ReaderAt)
	seeker, ok2 := fd.(io.Seeker)
	if !ok || !ok2 {
		return nil, 0, errors.New("the accessor cannot seek in it")
	}
	size, err := seeker.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, err
	}
	return ra, size, nil
}
