package diskimage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"github.com/azvql/azvql/plugins/evidence"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// ntfsFS reads an NTFS volume through go-ntfs. Names match
// case-insensitively, as Windows does (an exact match wins).
type ntfsFS struct {
	ctx  *ntfs.NTFSContext
	name string
	edge *edgeReader

	mu   sync.Mutex
	dirs map[int64][]ntfsEntry
	op   sync.Mutex // one operation at a time, so a read past the end is charged to it
}

// edgeReader notes reads that start past the bytes a truncated image
// holds: go-ntfs reads them as zeros and reports nothing, so files
// would silently be missing.
type edgeReader struct {
	r     io.ReaderAt
	avail int64
	base  int64 // the volume's offset in the disk, for messages
	lost  int64 // first such offset since reset; -1 none
}

func (e *edgeReader) ReadAt(b []byte, off int64) (int, error) {
	if off >= e.avail && e.lost < 0 {
		e.lost = off
	}
	return e.r.ReadAt(b, off)
}

// guard runs f and turns a read past the end during it into an error.
func (n *ntfsFS) guard(p string, f func() error) error {
	n.op.Lock()
	defer n.op.Unlock()
	n.edge.lost = -1
	err := f()
	if n.edge.lost >= 0 && (err == nil || err == io.EOF || errors.Is(err, fs.ErrNotExist)) {
		return &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("%s: offset %d: NTFS structures lie past the end of the image (it holds %d bytes of this volume): truncated image", n.name, n.edge.base+n.edge.lost, n.edge.avail)}
	}
	return err
}

type ntfsEntry struct {
	mft  int64
	info *ntfs.FileInfo
}

const rootMFT = 5

func openNTFS(r io.ReaderAt, base, avail int64, name string) (*ntfsFS, error) {
	edge := &edgeReader{r: r, avail: avail, base: base, lost: -1}
	paged, err := ntfs.NewPagedReader(edge, 1024, 10000)
	if err != nil {
		return nil, err
	}
	ctx, err := ntfs.GetNTFSContext(paged, 0)
	if err != nil {
		return nil, err
	}
	return &ntfsFS{ctx: ctx, name: name, edge: edge, dirs: map[int64][]ntfsEntry{}}, nil
}

// mftID is the record number in go-ntfs's "N-T-I" inode string.
func mftID(s string) int64 {
	n, _ := strconv.ParseInt(strings.SplitN(s, "-", 2)[0], 10, 64)
	return n
}

func (n *ntfsFS) list(dir int64) ([]ntfsEntry, error) {
	n.mu.Lock()
	l, ok := n.dirs[dir]
	n.mu.Unlock()
	if ok {
		return l, nil
	}
	d, err := n.ctx.GetMFT(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var adsOnly []*ntfs.FileInfo
	for _, fi := range ntfs.ListDir(n.ctx, d) {
		// Alternate data streams are not files of their own here, and
		// "." is the directory itself.
		if base, _, ads := strings.Cut(fi.Name, ":"); ads {
			// A file with named streams only ($UsnJrnl: $J, $Max)
			// is still a file: listed under its own name, size 0.
			c := *fi
			c.Name, c.Size = base, 0
			adsOnly = append(adsOnly, &c)
			continue
		}
		if fi.Name == "." || seen[fi.Name] {
			continue
		}
		seen[fi.Name] = true
		l = append(l, ntfsEntry{mft: mftID(fi.MFTId), info: fi})
	}
	for _, fi := range adsOnly {
		if !seen[fi.Name] {
			seen[fi.Name] = true
			l = append(l, ntfsEntry{mft: mftID(fi.MFTId), info: fi})
		}
	}
	if dir == rootMFT && len(l) == 0 {
		// Every NTFS root lists $MFT and the other system files: an
		// empty one was not read (go-ntfs gives no error for it).
		return nil, fmt.Errorf("%s: MFT record 5 (the root folder): no index entries readable: its index lies past the end of a truncated image or is damaged", n.name)
	}
	n.mu.Lock()
	if len(n.dirs) >= maxDirCache {
		n.dirs = map[int64][]ntfsEntry{}
	}
	n.dirs[dir] = l
	n.mu.Unlock()
	return l, nil
}

func (n *ntfsFS) lookup(p string) (ntfsEntry, error) {
	cur := ntfsEntry{mft: rootMFT, info: &ntfs.FileInfo{IsDir: true}}
	for _, c := range splitPath(p) {
		if !cur.info.IsDir {
			return ntfsEntry{}, &fs.PathError{Op: "lstat", Path: p, Err: errNotDir}
		}
		entries, err := n.list(cur.mft)
		if err != nil {
			return ntfsEntry{}, &fs.PathError{Op: "lstat", Path: p, Err: fmt.Errorf("%s: %w", n.name, err)}
		}
		var found *ntfsEntry
		for i := range entries {
			if entries[i].info.Name == c {
				found = &entries[i]
				break
			}
			if found == nil && strings.EqualFold(entries[i].info.Name, c) {
				found = &entries[i]
			}
		}
		if found == nil {
			return ntfsEntry{}, notExist("lstat", p)
		}
		cur = *found
	}
	return cur, nil
}

func (n *ntfsFS) info(x ntfsEntry, p string) evidence.FileInfo {
	mode := fs.FileMode(0o644)
	if x.info.IsDir {
		mode = fs.ModeDir | 0o755
	}
	return evidence.FileInfo{
		Name:  x.info.Name,
		Path:  p,
		Size:  x.info.Size,
		Mode:  mode,
		IsDir: x.info.IsDir,
		Mtime: x.info.Mtime.UTC(),
		Atime: x.info.Atime.UTC(),
		Ctime: x.info.Ctime.UTC(),
		Btime: x.info.Btime.UTC(),
	}
}

func (n *ntfsFS) Lstat(p string) (fi evidence.FileInfo, err error) {
	defer recoverAs(&err, n.name, p)
	var x ntfsEntry
	err = n.guard(p, func() (e error) { x, e = n.lookup(p); return })
	if err != nil {
		return evidence.FileInfo{}, err
	}
	if x.mft == rootMFT {
		return evidence.FileInfo{Path: p, IsDir: true, Mode: fs.ModeDir | 0o755}, nil
	}
	return n.info(x, p), nil
}

func (n *ntfsFS) ReadDir(p string) (out []evidence.FileInfo, err error) {
	defer recoverAs(&err, n.name, p)
	var x ntfsEntry
	var entries []ntfsEntry
	err = n.guard(p, func() (e error) {
		if x, e = n.lookup(p); e != nil {
			return e
		}
		if !x.info.IsDir {
			return &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
		}
		entries, e = n.list(x.mft)
		return e
	})
	if err != nil {
		return nil, err
	}
	for _, c := range entries {
		out = append(out, n.info(c, joinPath(p, c.info.Name)))
	}
	return out, nil
}

func (n *ntfsFS) Open(p string) (f evidence.File, err error) {
	defer recoverAs(&err, n.name, p)
	var data ntfs.RangeReaderAt
	var size int64
	err = n.guard(p, func() error {
		x, err := n.lookup(p)
		if err != nil {
			return err
		}
		if x.info.IsDir {
			return &fs.PathError{Op: "open", Path: p, Err: errIsDir}
		}
		entry, err := n.ctx.GetMFT(x.mft)
		if err != nil {
			return &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%s: MFT entry %d: %w", n.name, x.mft, err)}
		}
		data, err = ntfs.OpenStream(n.ctx, entry, 128, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME)
		if err != nil {
			return &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%s: MFT entry %d: $DATA: %w", n.name, x.mft, err)}
		}
		size = x.info.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ntfsFile{n: n, p: p, sr: io.NewSectionReader(data, 0, size)}, nil
}

// ntfsFile reads under the volume's guard, so content a truncation
// cut off is an error, not zeros.
type ntfsFile struct {
	n  *ntfsFS
	p  string
	sr *io.SectionReader
}

func (f *ntfsFile) Read(b []byte) (k int, err error) {
	err = f.n.guard(f.p, func() (e error) { k, e = f.sr.Read(b); return })
	return
}

func (f *ntfsFile) ReadAt(b []byte, off int64) (k int, err error) {
	err = f.n.guard(f.p, func() (e error) { k, e = f.sr.ReadAt(b, off); return })
	return
}

func (f *ntfsFile) Seek(off int64, whence int) (int64, error) { return f.sr.Seek(off, whence) }
func (f *ntfsFile) Close() error                              { return nil }

func (n *ntfsFS) Join(dir, name string) string { return joinPath(dir, name) }

// NTFSContext hands the volume to readers of NTFS's own structures (the
// MFT scan of deleted files, plugins/mftscan).
func (n *ntfsFS) NTFSContext() *ntfs.NTFSContext { return n.ctx }

// VolumeName names the volume in messages ("image X partition N").
func (n *ntfsFS) VolumeName() string { return n.name }
