package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"io"

	"www.velocidex.com/golang/vfilter"
)

// Open returns the Root for a plugin's root and accessor arguments.
func OpenRoot(scope vfilter.Scope, accessor, root string) (*Root, error) {
	acc, err := Get(scope, accessor)
	if err != nil {
		return nil, err
	}
	return NewRoot(acc, root), nil
}

// ReadCapped reads at most max bytes of an evidence file. truncated is
// true when the file held more.
func (r *Root) ReadCapped(p string, max int64) (data []byte, truncated bool, err error) {
	f, err := r.Open(p)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return ReadAllCapped(f, max)
}

// ReadAllCapped reads at most max bytes from rd.
func ReadAllCapped(rd io.Reader, max int64) ([]byte, bool, error) {
	data, err := io.ReadAll(io.LimitReader(rd, max+1))
	if int64(len(data)) > max {
		return data[:max], true, err
	}
	return data, false, err
}

// SHA256 hashes an evidence file as a stream.
func (r *Root) SHA256(p string) (string, int64, error) {
	f, err := r.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, withEvPath(err, p)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
