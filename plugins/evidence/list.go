package evidence

import (
	"io/fs"
	"sort"
	"strings"
)

// NameLister is implemented by accessors that can list a folder's names
// with their types (what the directory itself stores: file, folder,
// link...) without describing each entry. Root.List prefers it to
// ReadDir: a walk that needs a few entries of a large folder then
// describes only those.
type NameLister interface {
	ReadDirNames(path string) (names []string, types []fs.FileMode, err error)
}

// Listing is a folder's entries in name order, described lazily: Name
// and the type bits come from the listing, Entry describes an entry
// (Lstat) when asked. It holds names only, so a folder of 100,000 files
// costs a few MB, not one Entry each.
type Listing struct {
	r     *Root
	dir   EvPath
	dirS  string // dir.String()
	host  string
	names []string
	types []fs.FileMode
	infos []FileInfo // the accessor's own descriptions, when it has no NameLister
}

// List lists the evidence folder p with ReadDir's checks (a link where
// the folder should be is refused, not listed).
func (r *Root) List(p string) (*Listing, error) {
	if l, ok := r.listBeneath(p); ok {
		return l, nil
	}
	host, err := r.listable(p)
	if err != nil {
		return nil, err
	}
	l := &Listing{r: r, dir: ParseEvPath(p), host: host}
	l.dirS = l.dir.String()
	if nl, ok := r.Acc.(NameLister); ok {
		l.names, l.types, err = nl.ReadDirNames(host)
		if err != nil && len(l.names) == 0 {
			return nil, withEvPath(err, p)
		}
	} else {
		l.infos, err = r.Acc.ReadDir(host)
		if err != nil && len(l.infos) == 0 {
			return nil, withEvPath(err, p)
		}
		l.names = make([]string, len(l.infos))
		l.types = make([]fs.FileMode, len(l.infos))
		for i, fi := range l.infos {
			l.names[i] = fi.Name
			switch {
			case fi.IsLink:
				l.types[i] = fs.ModeSymlink
			case fi.IsDir:
				l.types[i] = fs.ModeDir
			default:
				l.types[i] = fi.Mode.Type()
			}
		}
	}
	sort.Sort(byNameListing{l})
	return l, nil
}

// listBeneath is List's fast path, as readDirBeneath is ReadDir's: a
// folder below Base listed by a confining lister in one step; false
// sends List to its checks, which name any refusal.
func (r *Root) listBeneath(p string) (*Listing, bool) {
	ev := ParseEvPath(p)
	bl, ok := r.Acc.(BeneathNameLister)
	if !ok || ev.Windows || len(ev.Parts) == 0 {
		return nil, false
	}
	host, base, _, err := r.resolve("readdir", p)
	if err != nil {
		return nil, false
	}
	names, types, err := bl.ReadDirNamesBeneath(base, ev.Parts)
	if err != nil {
		return nil, false
	}
	l := &Listing{r: r, dir: ev, dirS: ev.String(), host: host, names: names, types: types}
	sort.Sort(byNameListing{l})
	return l, true
}

type byNameListing struct{ l *Listing }

func (b byNameListing) Len() int           { return len(b.l.names) }
func (b byNameListing) Less(i, j int) bool { return b.l.names[i] < b.l.names[j] }
func (b byNameListing) Swap(i, j int) {
	l := b.l
	l.names[i], l.names[j] = l.names[j], l.names[i]
	l.types[i], l.types[j] = l.types[j], l.types[i]
	if l.infos != nil {
		l.infos[i], l.infos[j] = l.infos[j], l.infos[i]
	}
}

// Len is the number of entries.
func (l *Listing) Len() int { return len(l.names) }

// Name is entry i's name.
func (l *Listing) Name(i int) string { return l.names[i] }

// IsDir says entry i is a folder (not a link to one).
func (l *Listing) IsDir(i int) bool { return l.types[i]&fs.ModeDir != 0 }

// IsLink says entry i is a symlink.
func (l *Listing) IsLink(i int) bool { return l.types[i]&fs.ModeSymlink != 0 }

// OSPath is entry i's evidence path.
func (l *Listing) OSPath(i int) string {
	n := l.names[i]
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) {
		return l.dir.Join(n).String() // as ReadDir names it
	}
	sep := "/"
	if l.dir.Windows {
		sep = `\`
	}
	if len(l.dir.Parts) == 0 {
		return l.dirS + n
	}
	return l.dirS + sep + n
}

// Entry describes entry i as ReadDir would (Lstat; a link with its
// Target). An entry gone since the listing keeps its name and type.
func (l *Listing) Entry(i int) Entry {
	osPath := l.OSPath(i)
	if l.infos != nil {
		fi := l.infos[i]
		if fi.IsLink && fi.Target == "" {
			fi.Target = l.r.readlink(fi.Path)
		}
		return Entry{FileInfo: fi, OSPath: osPath}
	}
	full := l.r.Acc.Join(l.host, l.names[i])
	fi, err := l.r.Acc.Lstat(full)
	if err != nil {
		return Entry{FileInfo: FileInfo{Name: l.names[i], Path: full, IsDir: l.IsDir(i)}, OSPath: osPath}
	}
	if fi.IsLink && fi.Target == "" {
		fi.Target = l.r.readlink(full)
	}
	return Entry{FileInfo: fi, OSPath: osPath}
}
