package extensions

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/azvql/azvql/plugins/evidence"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readHashed opens p once and returns its first max bytes (none when max
// is 0; truncated says the file held more) and, when hash is set, the
// SHA-256 of the whole file. sizeHint (from the listing) sizes the
// buffer. Reading stops early when nothing more is needed.
func readHashed(r *evidence.Root, p string, sizeHint, max int64, hash bool) (head []byte, truncated bool, sum string, err error) {
	f, err := r.Open(p)
	if err != nil {
		return nil, false, "", err
	}
	defer f.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var h = sha256.New()
	if max > 0 {
		n := sizeHint
		if n > max || n < 0 {
			n = max
		}
		if n > 1<<20 {
			n = 1 << 20 // grow by append beyond this: a size hint is not trusted with memory
		}
		head = make([]byte, 0, n+1)
	}
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if hash {
				h.Write(chunk)
			}
			if max > 0 && !truncated {
				room := max - int64(len(head))
				if int64(n) > room {
					head = append(head, chunk[:room]...)
					truncated = true
				} else {
					head = append(head, chunk...)
				}
			}
			if truncated && !hash {
				break
			}
			if max == 0 && !hash {
				break
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return head, truncated, "", fmt.Errorf("read: %w", reason(rerr))
		}
	}
	if hash {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	return head, truncated, sum, nil
}

// ErrSymlink: evidence symlinks are never followed (an absolute link in a
// mounted image would otherwise read the analyst's own files).
var ErrSymlink = errors.New("symlink not followed")

// readSmall reads at most max bytes of an evidence file that is not a
// symlink or a folder.
func readSmall(r *evidence.Root, p string, max int64) ([]byte, bool, error) {
	e, err := r.Lstat(p)
	if err != nil {
		return nil, false, err
	}
	if e.IsLink {
		return nil, false, &fs.PathError{Op: "read", Path: e.OSPath, Err: ErrSymlink}
	}
	if e.IsDir {
		return nil, false, &fs.PathError{Op: "read", Path: e.OSPath, Err: errIsDir}
	}
	b, trunc, _, err := readHashed(r, p, e.Size, max, false)
	return b, trunc, err
}

var errIsDir = errors.New("is a directory")
