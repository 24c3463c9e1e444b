// Package evidence is how azvql plugins read files: a small accessor
// interface (the host decides what a path means: the OS, an NTFS image,
// Velociraptor's own accessors), a registry of accessors by name, and Root,
// which maps paths as they were on the evidence system
// (/var/lib/waagent/..., C:\Packages\...) onto an accessor and back.
package evidence

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"www.velocidex.com/golang/vfilter"
)

// FileInfo describes one file as an accessor sees it. Times the source
// does not have are the zero time.
type FileInfo struct {
	Name   string // last path component
	Path   string // full path in the accessor's own syntax
	Size   int64
	Mode   os.FileMode
	IsDir  bool
	IsLink bool
	Target string // a symlink's target as stored, when the accessor can read it
	Mtime  time.Time
	Atime  time.Time
	Ctime  time.Time
	Btime  time.Time
}

// File is an open evidence file. Accessors that can seek return a File
// that also implements io.Seeker and io.ReaderAt; callers test for them.
type File interface {
	io.Reader
	io.Closer
}

// Accessor reads an evidence source. Paths are in the accessor's own
// syntax; Join builds them so callers never assume a separator.
// Implementations must open everything read-only.
type Accessor interface {
	// Lstat describes path without following a final symlink.
	Lstat(path string) (FileInfo, error)
	// ReadDir lists a directory (entries described as by Lstat).
	ReadDir(path string) ([]FileInfo, error)
	// Open opens a regular file for reading.
	Open(path string) (File, error)
	// Join appends one path component to dir.
	Join(dir, name string) string
}

// LinkReader is implemented by accessors that can read a symlink's
// target, so a refused link is reported with it.
type LinkReader interface {
	Readlink(path string) (string, error)
}

// BeneathOpener is implemented by accessors that can open a regular file
// below a base folder in one step that follows no link and cannot leave
// base (rel are the components below it). Root.Open prefers it to Open:
// nothing swapped in after Root's checks can redirect the open. The
// error for a link or a file that is not regular is a *RefusedError.
type BeneathOpener interface {
	OpenBeneath(base string, rel []string) (File, error)
}

// BeneathLister is implemented by accessors that can list a folder below
// base in one step that follows no link and cannot leave base (as
// BeneathOpener opens a file). Root.ReadDir tries it first; on any error
// it takes its checked path.
type BeneathLister interface {
	ReadDirBeneath(base string, rel []string) ([]FileInfo, error)
}

// BeneathNameLister is NameLister's confined form (as BeneathLister is
// ReadDir's): Root.List tries it first.
type BeneathNameLister interface {
	ReadDirNamesBeneath(base string, rel []string) ([]string, []fs.FileMode, error)
}

// Factory makes an accessor for one query. The scope lets a host
// (Velociraptor) hand over its own accessors, remapping and ACLs.
type Factory func(scope vfilter.Scope) (Accessor, error)

var (
	mu       sync.RWMutex
	registry = map[string]Factory{}
)

// DefaultAccessor is the name used when a plugin gets no accessor argument.
const DefaultAccessor = "auto"

// Register makes an accessor available by name; a later registration of
// the same name replaces the earlier one (a host overrides the defaults).
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	registry[name] = f
}

// Names lists the registered accessors, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownAccessor is returned for an accessor name nobody registered.
var ErrUnknownAccessor = errors.New("unknown accessor")

// Get returns the accessor called name ("" means DefaultAccessor).
func Get(scope vfilter.Scope, name string) (Accessor, error) {
	if name == "" {
		name = DefaultAccessor
	}
	mu.RLock()
	f, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, &os.PathError{Op: "accessor", Path: name, Err: ErrUnknownAccessor}
	}
	return f(scope)
}

func init() {
	// The OS accessor is the default everywhere; hosts may replace both
	// names (Velociraptor's build hands over its own file/auto).
	Register("file", func(vfilter.Scope) (Accessor, error) { return OSAccessor{}, nil })
	Register("auto", func(vfilter.Scope) (Accessor, error) { return OSAccessor{}, nil })
}
