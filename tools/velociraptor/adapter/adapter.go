// Package adapter hands azvql plugins Velociraptor's own accessors.
//
// azvql plugins read evidence through plugins/evidence, whose accessors
// take string paths. Inside a Velociraptor build the same names (auto,
// file, ntfs, raw_ntfs, ...) must mean what they mean to Velociraptor's
// glob() and read_file(): the query's device manager, remapping (--remap,
// dead-disk configs), ACLs. Each adapter resolves the accessor through
// accessors.GetAccessor(name, scope) when a plugin opens its root, and
// converts string paths to the accessor's OSPath with its own ParsePath.
package adapter

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/azvql/azvql/plugins/evidence"
	"www.velocidex.com/golang/velociraptor/accessors"
	"www.velocidex.com/golang/vfilter"
)

// Names are the accessors registered even when Velociraptor does not
// describe them at start-up: the live ones plugins default to and the
// ones a dead-disk remapping mounts (ntfs, file and auto on the C: drive,
// raw_ntfs for an image read directly).
var Names = []string{"auto", "file", "ntfs", "raw_ntfs", "raw_file", "ext4", "fat", "zip", "data"}

// RegisterAll registers an evidence accessor for each of Names and for
// every accessor Velociraptor has registered so far. Call it from an
// init() of package main, which runs after every accessor package's init.
func RegisterAll() []string {
	seen := map[string]bool{}
	for _, n := range Names {
		seen[n] = true
	}
	for _, d := range accessors.DescribeAccessors() {
		if d != nil && d.Name != "" {
			seen[d.Name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	for _, n := range out {
		evidence.Register(n, Factory(n))
	}
	return out
}

// Factory returns an evidence.Factory wrapping Velociraptor's accessor
// called name, resolved in the plugin's scope (so remapping applies).
func Factory(name string) evidence.Factory {
	return func(scope vfilter.Scope) (evidence.Accessor, error) {
		acc, err := accessors.GetAccessor(name, scope)
		if err != nil {
			return nil, err
		}
		return &Accessor{name: name, acc: acc, cache: map[string]*accessors.OSPath{}}, nil
	}
}

// Accessor adapts one Velociraptor FileSystemAccessor.
type Accessor struct {
	name string
	acc  accessors.FileSystemAccessor

	mu    sync.Mutex
	cache map[string]*accessors.OSPath // parsed paths; plugins revisit directories often
}

const maxCache = 4096

func (a *Accessor) parse(p string) (*accessors.OSPath, error) {
	a.mu.Lock()
	op, ok := a.cache[p]
	a.mu.Unlock()
	if ok {
		return op, nil
	}
	op, err := a.acc.ParsePath(p)
	if err != nil {
		return nil, &os.PathError{Op: "parse", Path: p, Err: err}
	}
	a.mu.Lock()
	if len(a.cache) >= maxCache {
		a.cache = map[string]*accessors.OSPath{}
	}
	a.cache[p] = op
	a.mu.Unlock()
	return op, nil
}

// Lstat describes path without following a final symlink.
func (a *Accessor) Lstat(p string) (evidence.FileInfo, error) {
	op, err := a.parse(p)
	if err != nil {
		return evidence.FileInfo{}, err
	}
	fi, err := a.acc.LstatWithOSPath(op)
	if err != nil {
		return evidence.FileInfo{}, pathErr("lstat", p, err)
	}
	return convert(fi, op.String()), nil
}

// ReadDir lists a directory.
func (a *Accessor) ReadDir(p string) ([]evidence.FileInfo, error) {
	op, err := a.parse(p)
	if err != nil {
		return nil, err
	}
	// Velociraptor's accessors list a file as an empty directory; the
	// evidence contract wants an error for a path that is not a directory.
	// Some cannot stat a volume's own root (the ntfs accessors under a
	// dead-disk remapping fail Lstat of C:\ yet list it): a listing with
	// entries is then proof enough that it is a directory.
	st, serr := a.acc.LstatWithOSPath(op)
	if serr == nil && !st.IsDir() {
		return nil, &os.PathError{Op: "readdir", Path: p, Err: errors.New("not a directory")}
	}
	list, err := a.acc.ReadDirWithOSPath(op)
	if serr != nil && len(list) == 0 {
		return nil, pathErr("readdir", p, serr)
	}
	out := make([]evidence.FileInfo, 0, len(list))
	for _, fi := range list {
		full := op.Append(fi.Name()).String()
		if fop := fi.OSPath(); fop != nil {
			full = fop.String()
		}
		out = append(out, convert(fi, full))
	}
	if err != nil {
		return out, pathErr("readdir", p, err)
	}
	return out, nil
}

// Open opens a regular file read-only.
func (a *Accessor) Open(p string) (evidence.File, error) {
	op, err := a.parse(p)
	if err != nil {
		return nil, err
	}
	if st, serr := a.acc.LstatWithOSPath(op); serr == nil && st.IsDir() {
		return nil, &os.PathError{Op: "open", Path: p, Err: errors.New("is a directory")}
	}
	fd, err := a.acc.OpenWithOSPath(op)
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	if accessors.IsSeekable(fd) {
		return &seekFile{ReadSeekCloser: fd}, nil
	}
	return streamFile{fd}, nil
}

// Join appends one component in the accessor's own path syntax.
func (a *Accessor) Join(dir, name string) string {
	op, err := a.parse(dir)
	if err != nil {
		return strings.TrimRight(dir, `/\`) + "/" + name
	}
	return op.Append(name).String()
}

func convert(fi accessors.FileInfo, full string) evidence.FileInfo {
	out := evidence.FileInfo{
		Name:   fi.Name(),
		Path:   full,
		Size:   fi.Size(),
		Mode:   fi.Mode(),
		IsDir:  fi.IsDir(),
		IsLink: fi.IsLink(),
		Mtime:  mtime(fi),
		Atime:  utc(fi.Atime()),
		Ctime:  utc(fi.Ctime()),
		Btime:  utc(fi.Btime()),
	}
	// A link is reported with its target (never followed: evidence.Root
	// refuses it before any Open).
	if out.IsLink {
		if l, err := fi.GetLink(); err == nil && l != nil {
			out.Target = l.String()
		}
	}
	return out
}

// mtime is Mtime() at the precision the source has: Velociraptor's Linux
// and FreeBSD file accessors truncate Mtime() to whole seconds, while
// ModTime() (os.FileInfo's) keeps the nanoseconds; NTFS and the others
// give the same value through both.
func mtime(fi accessors.FileInfo) time.Time {
	m := fi.Mtime()
	if mt := fi.ModTime(); !mt.IsZero() && mt.Unix() == m.Unix() {
		m = mt
	}
	return utc(m)
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// pathErr wraps err so that "not found" in any accessor's wording is
// fs.ErrNotExist for evidence.IsNotExist: an absent file is not an error
// to the plugins, whichever accessor reported it.
func pathErr(op, p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &os.PathError{Op: op, Path: p, Err: err}
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "not found") || strings.Contains(msg, "no such file") ||
		strings.Contains(msg, "does not exist") || strings.Contains(msg, "cannot find") {
		return &os.PathError{Op: op, Path: p, Err: notExist{err}}
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}

type notExist struct{ err error }

func (e notExist) Error() string        { return e.err.Error() }
func (e notExist) Is(target error) bool { return target == fs.ErrNotExist }
func (e notExist) Unwrap() error        { return e.err }

// streamFile is a file that cannot seek (a pipe, a stream accessor).
type streamFile struct{ accessors.ReadSeekCloser }

func (f streamFile) Read(b []byte) (int, error) { return f.ReadSeekCloser.Read(b) }
func (f streamFile) Close() error               { return f.ReadSeekCloser.Close() }

// seekFile adds io.ReaderAt (zip members are read by offset) on top of
// Seek+Read, serialised, restoring the stream position.
type seekFile struct {
	accessors.ReadSeekCloser
	mu sync.Mutex
}

func (f *seekFile) Read(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ReadSeekCloser.Read(b)
}

func (f *seekFile) Seek(off int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ReadSeekCloser.Seek(off, whence)
}

func (f *seekFile) ReadAt(b []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, err := f.ReadSeekCloser.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	defer f.ReadSeekCloser.Seek(cur, io.SeekStart)
	if _, err := f.ReadSeekCloser.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(f.ReadSeekCloser, b)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}
