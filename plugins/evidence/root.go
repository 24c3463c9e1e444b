package evidence

import (
	"errors"
	"fmt"
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

	// Logf receives what the Root skips on its own (a link met by Glob);
	// nil drops it. vqlkit.OpenRoot points it at the query log.
	Logf func(format string, args ...interface{})

	mu       sync.Mutex
	lists    map[string][]FileInfo // directory listings for case-insensitive lookups
	reported map[string]bool       // what Report already logged
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
			return "", &os.PathError{Op: "resolve", Path: ev.String(), Err: ErrWrongDrive}
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
// name does not exist. Every folder between Base and the last component
// is checked (Lstat): a symlink there is refused (*RefusedError), so no
// operation of Root ever leaves Base through a link.
func (r *Root) Resolve(p string) (string, error) {
	host, _, _, err := r.resolve("resolve", p)
	return host, err
}

// resolve is Resolve for operation op; it also returns the accessor path
// of the evidence root and the components below it as found.
func (r *Root) resolve(op, p string) (host, base string, rel []string, err error) {
	ev := ParseEvPath(p)
	base, err = r.base(ev)
	if err != nil {
		return "", "", nil, err
	}
	cur := base
	rel = make([]string, 0, len(ev.Parts))
	for i, c := range ev.Parts {
		next, name := r.Acc.Join(cur, c), c
		last := i == len(ev.Parts)-1
		var fi FileInfo
		var lerr error
		if !last || ev.Windows {
			fi, lerr = r.Acc.Lstat(next)
			if lerr != nil && ev.Windows {
				for _, e := range r.cachedList(cur) {
					if strings.EqualFold(e.Name, c) {
						next, name, fi, lerr = e.Path, e.Name, e, nil
						break
					}
				}
			}
		}
		rel = append(rel, name)
		if last {
			// The caller looks at the last component itself (Lstat
			// reports a link, Open and ReadDir refuse one).
			return next, base, rel, nil
		}
		at := EvPath{Windows: ev.Windows, Drive: ev.Drive, Parts: rel}.String()
		switch {
		case lerr != nil:
			return "", "", nil, pathErr(op, p, lerr)
		case fi.IsLink:
			return "", "", nil, &RefusedError{Op: op, Path: ev.String(), At: at, Type: "symlink", Target: r.readlink(next)}
		case !fi.IsDir:
			return "", "", nil, &os.PathError{Op: op, Path: ev.String(), Err: fmt.Errorf("%s is a %s, not a folder", at, entryType(fi))}
		}
		cur = next
	}
	return cur, base, rel, nil
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

// readlink is a link's target when the accessor can read it.
func (r *Root) readlink(host string) string {
	if lr, ok := r.Acc.(LinkReader); ok {
		if t, err := lr.Readlink(host); err == nil {
			return t
		}
	}
	return ""
}

// Lstat describes an evidence path without following a final link; a
// link has its target in Target.
func (r *Root) Lstat(p string) (Entry, error) {
	host, _, _, err := r.resolve("lstat", p)
	if err != nil {
		return Entry{}, err
	}
	fi, err := r.Acc.Lstat(host)
	if err != nil {
		return Entry{}, withEvPath(err, p)
	}
	if fi.IsLink && fi.Target == "" {
		fi.Target = r.readlink(host)
	}
	return Entry{FileInfo: fi, OSPath: ParseEvPath(p).String()}, nil
}

// ReadDir lists an evidence directory, sorted by name. Entries carry
// their evidence path in OSPath (and a link its Target). A link where
// the folder should be is refused, not listed.
func (r *Root) ReadDir(p string) ([]Entry, error) {
	ev := ParseEvPath(p)
	list, ok := r.readDirBeneath(ev)
	if !ok {
		host, err := r.listable(p)
		if err != nil {
			return nil, err
		}
		list, err = r.Acc.ReadDir(host)
		if err != nil && len(list) == 0 {
			return nil, withEvPath(err, p)
		}
	}
	out := make([]Entry, 0, len(list))
	for _, fi := range list {
		if fi.IsLink && fi.Target == "" {
			fi.Target = r.readlink(fi.Path)
		}
		out = append(out, Entry{FileInfo: fi, OSPath: ev.Join(fi.Name).String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readDirBeneath is ReadDir's fast path: a folder below Base (POSIX
// evidence paths, matched exactly) listed by a confining lister in one
// step; false sends ReadDir to its checks, which name any refusal.
func (r *Root) readDirBeneath(ev EvPath) ([]FileInfo, bool) {
	bl, ok := r.Acc.(BeneathLister)
	if !ok || ev.Windows || len(ev.Parts) == 0 {
		return nil, false
	}
	base, err := r.base(ev)
	if err != nil {
		return nil, false
	}
	list, err := bl.ReadDirBeneath(base, ev.Parts)
	return list, err == nil
}

// listable resolves the folder p for listing: the accessor path of a
// folder below Base reached through no link (ReadDir's and List's checks).
func (r *Root) listable(p string) (string, error) {
	host, _, rel, err := r.resolve("readdir", p)
	if err != nil {
		return "", err
	}
	fi, err := r.Acc.Lstat(host)
	if err != nil {
		return "", withEvPath(err, p)
	}
	switch {
	case len(rel) == 0:
		// The root itself: Base is trusted, and may be a link.
	case fi.IsLink:
		return "", &RefusedError{Op: "readdir", Path: ParseEvPath(p).String(), Type: "symlink", Target: r.readlink(host)}
	case !fi.IsDir:
		return "", &os.PathError{Op: "readdir", Path: ParseEvPath(p).String(), Err: fmt.Errorf("a %s, not a folder", entryType(fi))}
	}
	return host, nil
}

// Open opens an evidence file read-only. It is the one way plugins read
// evidence content, and it only ever opens a regular file below Base:
//
//   - a symlink anywhere on the path is refused (*RefusedError with the
//     link's target, errors.Is ErrSymlink), never followed;
//   - a FIFO, socket, device or folder is refused with its type
//     (errors.Is ErrNotRegular) before it is opened;
//   - the OS accessor opens with openat2(RESOLVE_BENEATH|
//     RESOLVE_NO_SYMLINKS) on Linux (a component-by-component O_NOFOLLOW
//     walk where the kernel lacks it, and on other Unixes), non-blocking
//     (a FIFO swapped in after the check cannot hang the query) and with
//     O_NOATIME where the kernel permits it (docs/evidence.md).
func (r *Root) Open(p string) (File, error) {
	// Fast path: a confining opener needs no checks first (one openat2
	// instead of a Lstat per folder); any failure takes the checked path
	// below, which names the link or the type that was refused.
	if bo, ok := r.Acc.(BeneathOpener); ok {
		if ev := ParseEvPath(p); !ev.Windows {
			if base, err := r.base(ev); err == nil {
				if f, err := bo.OpenBeneath(base, ev.Parts); err == nil {
					return f, nil
				}
			}
		}
	}
	host, base, rel, err := r.resolve("open", p)
	if err != nil {
		return nil, err
	}
	fi, err := r.Acc.Lstat(host)
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	if t := entryType(fi); t != "file" {
		re := &RefusedError{Op: "open", Path: ParseEvPath(p).String(), Type: t}
		if fi.IsLink {
			re.Target = r.readlink(host)
		}
		return nil, re
	}
	var f File
	if bo, ok := r.Acc.(BeneathOpener); ok {
		f, err = bo.OpenBeneath(base, rel)
	} else {
		f, err = r.Acc.Open(host)
	}
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			// Swapped between the check and the open: name the
			// evidence path, not the accessor's.
			return nil, &RefusedError{Op: "open", Path: ParseEvPath(p).String(), Type: re.Type, Target: re.Target}
		}
		return nil, pathErr("open", p, err)
	}
	return f, nil
}

// CheckFile is nil when a listed entry may be opened as a file, else the
// *RefusedError that Open would return for it (a link with its target,
// a FIFO, a folder...). Plugins that skip such an entry report this.
func CheckFile(e Entry) error {
	t := entryType(e.FileInfo)
	if t == "file" {
		return nil
	}
	return &RefusedError{Op: "open", Path: e.OSPath, Type: t, Target: e.Target}
}

// Readable is true when e, found in a listing or by Glob, is a regular
// file; otherwise it reports why not (Report: a link with its target, a
// FIFO, a folder where a file was expected) and is false. Plugins filter
// globbed files through it so nothing is skipped without a word.
func (r *Root) Readable(e Entry) bool {
	err := CheckFile(e)
	if err != nil {
		r.Report(err)
	}
	return err == nil
}

// Report logs err once per path through Logf (when set): what the
// evidence layer skipped while walking (Glob) and what a plugin skips in
// a listing (CheckFile) reach the query log exactly once.
func (r *Root) Report(err error) {
	if err == nil || r.Logf == nil {
		return
	}
	key := err.Error()
	var re *RefusedError
	if errors.As(err, &re) {
		// One line per link or odd file, however many paths meet it.
		key = re.At
		if key == "" {
			key = re.Path
		}
	}
	r.mu.Lock()
	if r.reported == nil {
		r.reported = map[string]bool{}
	}
	seen := r.reported[key]
	r.reported[key] = true
	r.mu.Unlock()
	if !seen {
		r.Logf("%v", err)
	}
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
					if IsRefused(err) {
						r.Report(err)
					}
					continue
				}
				// Report the name as the pattern spelled it only when
				// the evidence has no other spelling to offer.
				if ev.Windows && e.Name != "" {
					e.OSPath = JoinOSPath(d.OSPath, e.Name)
				}
				if !last && e.IsLink {
					// Links are not followed (no loops, nothing outside
					// Base): reported instead.
					r.Report(&RefusedError{Op: "glob", Path: e.OSPath, Type: "symlink", Target: e.Target})
					continue
				}
				next = append(next, e)
				continue
			}
			list, err := r.ReadDir(d.OSPath)
			if err != nil {
				if !IsNotExist(err) && !errors.Is(err, ErrWrongDrive) && !errors.Is(err, ErrWrongOS) {
					r.Report(err) // a link, or a folder that cannot be listed
				}
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
						r.Report(&RefusedError{Op: "glob", Path: e.OSPath, Type: "symlink", Target: e.Target})
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
