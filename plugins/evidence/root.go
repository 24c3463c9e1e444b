package evidence

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Root is an evidence system (a live VM, a mounted image, a folder of
// collected files) seen through an accessor. Plugins name files by their
// path on the evidence system: "/var/lib/waagent/x" for Linux layouts,
// `C:\Packages\Plugins\x` for Windows ones. The style of the path decides
// how it is matched: Windows paths case-insensitively, as NTFS does.
// Root maps them onto the accessor below Base, and reports them back in
// the same style (OSPath) whatever Base was.
type Root struct {
	Acc  Accessor
	Base string // accessor path of the evidence root; "" = the running system's root

	mu    sync.Mutex
	lists map[string][]FileInfo // directory listings for case-insensitive lookups
}

// NewRoot returns a Root. base "" means the running system.
func NewRoot(acc Accessor, base string) *Root {
	return &Root{Acc: acc, Base: base, lists: map[string][]FileInfo{}}
}

// Entry is a file found on the evidence system.
type Entry struct {
	FileInfo
	OSPath string // the path as it was on the evidence system
}

// EvPath is a parsed evidence-system path.
type EvPath struct {
	Windows bool
	Drive   string // "C:" for Windows paths
	Parts   []string
}

// ParseEvPath splits an evidence path. A drive letter or a backslash makes
// it a Windows path; otherwise it is a POSIX path.
func ParseEvPath(p string) EvPath {
	ev := EvPath{}
	if len(p) >= 2 && p[1] == ':' && isLetter(p[0]) {
		ev.Windows = true
		ev.Drive = strings.ToUpper(p[:2])
		p = p[2:]
	} else if strings.Contains(p, `\`) {
		ev.Windows = true
		ev.Drive = "C:"
	}
	sep := func(r rune) bool { return r == '/' || (ev.Windows && r == '\\') }
	for _, c := range strings.FieldsFunc(p, sep) {
		switch c {
		case ".":
		case "..":
			if len(ev.Parts) > 0 {
				ev.Parts = ev.Parts[:len(ev.Parts)-1]
			}
		default:
			ev.Parts = append(ev.Parts, c)
		}
	}
	return ev
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

// String formats the path as the evidence system wrote it.
func (e EvPath) String() string {
	if e.Windows {
		return e.Drive + `\` + strings.Join(e.Parts, `\`)
	}
	return "/" + strings.Join(e.Parts, "/")
}

// Join appends components.
func (e EvPath) Join(names ...string) EvPath {
	parts := make([]string, 0, len(e.Parts)+len(names))
	parts = append(parts, e.Parts...)
	for _, n := range names {
		parts = append(parts, ParseEvPath(n).Parts...)
	}
	return EvPath{Windows: e.Windows, Drive: e.Drive, Parts: parts}
}

// Dir is the parent path.
func (e EvPath) Dir() EvPath {
	if len(e.Parts) == 0 {
		return e
	}
	return EvPath{Windows: e.Windows, Drive: e.Drive, Parts: e.Parts[:len(e.Parts)-1]}
}

// Base is the last component ("" for the root).
func (e EvPath) Base() string {
	if len(e.Parts) == 0 {
		return ""
	}
	return e.Parts[len(e.Parts)-1]
}

// JoinOSPath appends components to an evidence path string.
func JoinOSPath(p string, names ...string) string { return ParseEvPath(p).Join(names...).String() }

func (r *Root) base(ev EvPath) (string, error) {
	if r.Base != "" {
		if ev.Windows && ev.Drive != "C:" {
			return "", &os.PathError{Op: "resolve", Path: ev.String(), Err: errors.New("evidence root holds the C: drive only")}
		}
		return r.Base, nil
	}
	if runtime.GOOS == "windows" {
		if ev.Windows {
			return ev.Drive + `\`, nil
		}
		return "", &os.PathError{Op: "resolve", Path: ev.String(), Err: ErrWrongOS}
	}
	return "/", nil
}

// Resolve maps an evidence path onto an accessor path. Windows paths are
// matched case-insensitively, component by component, where the exact
// name does not exist.
func (r *Root) Resolve(p string) (string, error) {
	ev := ParseEvPath(p)
	cur, err := r.base(ev)
	if err != nil {
		return "", err
	}
	for _, c := range ev.Parts {
		next := r.Acc.Join(cur, c)
		if !ev.Windows {
			cur = next
			continue
		}
		if _, err := r.Acc.Lstat(next); err == nil {
			cur = next
			continue
		}
		found := ""
		for _, fi := range r.cachedList(cur) {
			if strings.EqualFold(fi.Name, c) {
				found = fi.Path
				break
			}
		}
		if found == "" {
			// Keep going with the literal name: the caller gets the
			// accessor's own not-exist error for the full path.
			cur = next
			continue
		}
		cur = found
	}
	return cur, nil
}

func (r *Root) cachedList(dir string) []FileInfo {
	r.mu.Lock()
	l, ok := r.lists[dir]
	r.mu.Unlock()
	if ok {
		return l
	}
	l, _ = r.Acc.ReadDir(dir)
	r.mu.Lock()
	r.lists[dir] = l
	r.mu.Unlock()
	return l
}

// Lstat describes an evidence path.
func (r *Root) Lstat(p string) (Entry, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return Entry{}, err
	}
	fi, err := r.Acc.Lstat(host)
	if err != nil {
		return Entry{}, withEvPath(err, p)
	}
	return Entry{FileInfo: fi, OSPath: ParseEvPath(p).String()}, nil
}

// ReadDir lists an evidence directory, sorted by name. Entries carry
// their evidence path in OSPath.
func (r *Root) ReadDir(p string) ([]Entry, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	list, err := r.Acc.ReadDir(host)
	if err != nil && len(list) == 0 {
		return nil, withEvPath(err, p)
	}
	ev := ParseEvPath(p)
	out := make([]Entry, 0, len(list))
	for _, fi := range list {
		out = append(out, Entry{FileInfo: fi, OSPath: ev.Join(fi.Name).String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Open opens an evidence file read-only.
func (r *Root) Open(p string) (File, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	f, err := r.Acc.Open(host)
	if err != nil {
		return nil, withEvPath(err, p)
	}
	return f, nil
}

// Exists says whether the evidence path exists.
func (r *Root) Exists(p string) bool {
	_, err := r.Lstat(p)
	return err == nil
}

// Glob expands a pattern of evidence-path components ("*", "?", "[..]"
// within a component, as path.Match) and returns the matches sorted by
// OSPath. Windows patterns match case-insensitively.
func (r *Root) Glob(pattern string) ([]Entry, error) {
	ev := ParseEvPath(pattern)
	start := EvPath{Windows: ev.Windows, Drive: ev.Drive}
	cur := []Entry{{OSPath: start.String(), FileInfo: FileInfo{IsDir: true}}}
	for i, comp := range ev.Parts {
		var next []Entry
		last := i == len(ev.Parts)-1
		for _, d := range cur {
			if !d.IsDir {
				continue
			}
			if !hasMeta(comp) {
				e, err := r.Lstat(JoinOSPath(d.OSPath, comp))
				if err != nil {
					continue
				}
				// Report the name as the pattern spelled it only when
				// the evidence has no other spelling to offer.
				if ev.Windows && e.Name != "" {
					e.OSPath = JoinOSPath(d.OSPath, e.Name)
				}
				if !last && e.IsLink {
					continue // symlinks are not followed: no loops
				}
				next = append(next, e)
				continue
			}
			list, err := r.ReadDir(d.OSPath)
			if err != nil {
				continue
			}
			pc := comp
			if ev.Windows {
				pc = strings.ToLower(comp)
			}
			for _, e := range list {
				name := e.Name
				if ev.Windows {
					name = strings.ToLower(name)
				}
				if ok, _ := path.Match(pc, name); ok {
					if !last && e.IsLink {
						continue
					}
					next = append(next, e)
				}
			}
		}
		cur = next
	}
	sort.Slice(cur, func(i, j int) bool { return cur[i].OSPath < cur[j].OSPath })
	return cur, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[`) }

// withEvPath rewrites a path error to name the evidence path, so messages
// read the same on every host.
func withEvPath(err error, p string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: ParseEvPath(p).String(), Err: pe.Err}
	}
	return err
}

// IsNotExist reports whether err means the file is absent.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
