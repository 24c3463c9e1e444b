package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"

	"www.velocidex.com/golang/vfilter"
)

// OpenRoot returns the Root for a plugin's root and accessor arguments,
// once Root.CheckRoot has found the root usable (a *RootError wrapping
// ErrBadRoot otherwise). Plugins that walk the agent's folders also call
// CheckLayout; vqlkit.OpenRoot does both and reports on the query log.
func OpenRoot(scope vfilter.Scope, accessor, root string) (*Root, error) {
	acc, err := Get(scope, accessor)
	if err != nil {
		return nil, err
	}
	r := NewRoot(acc, root)
	if err := r.CheckRoot(); err != nil {
		return nil, err
	}
	return r, nil
}

// Layout folders: a root that holds none of them is not the root of a
// VM with the Azure agent (a typo, or a folder one level too high or low).
var (
	linuxLayout   = []string{"/var/lib/waagent", "/var/log"}
	windowsLayout = []string{`C:\Packages`, `C:\WindowsAzure`}
)

// CheckRoot verifies the root itself: it must exist and be a folder that
// can be listed, else ErrBadRoot. Base may be a link (the analyst's own
// mount point): only what is below it is confined.
func (r *Root) CheckRoot() error {
	ev := ParseEvPath("/")
	if r.Base == "" && runtime.GOOS == "windows" {
		ev = ParseEvPath(`C:\`)
	}
	base, err := r.base(ev)
	if err != nil {
		return &RootError{Root: r.Base, Reason: ErrBadRoot, Err: err}
	}
	if _, err := r.Acc.ReadDir(base); err != nil {
		return &RootError{Root: r.Base, Reason: ErrBadRoot, Err: err}
	}
	return nil
}

// CheckLayout is nil when the root holds a Linux (/var/lib/waagent or
// /var/log) or Windows (\Packages or \WindowsAzure) agent layout, else
// a *RootError wrapping ErrNoLayout.
func (r *Root) CheckLayout() error {
	var refused error
	for _, p := range append(append([]string(nil), linuxLayout...), windowsLayout...) {
		_, err := r.Lstat(p)
		if err == nil {
			return nil
		}
		if refused == nil && IsRefused(err) {
			refused = err // e.g. /var is a link: say so, not only "no layout"
		}
	}
	return &RootError{Root: r.Base, Reason: ErrNoLayout, Err: refused}
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

// OpenFile opens a file named by an accessor path the plugin was given
// (keys=, filename=), not found below a Root: a link or anything that is
// not a regular file is refused (*RefusedError) before it is opened, so
// a FIFO cannot block the query whatever the accessor.
func OpenFile(acc Accessor, path string) (File, error) {
	fi, err := acc.Lstat(path)
	if err != nil {
		return nil, err
	}
	if t := entryType(fi); t != "file" {
		re := &RefusedError{Op: "open", Path: path, Type: t}
		if lr, ok := acc.(LinkReader); ok && fi.IsLink {
			re.Target, _ = lr.Readlink(path)
		}
		return nil, re
	}
	return acc.Open(path)
}
