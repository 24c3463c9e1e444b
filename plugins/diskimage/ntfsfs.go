package diskimage

import (
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

	mu   sync.Mutex
	dirs map[int64][]ntfsEntry
}

type ntfsEntry struct {
	mft  int64
	info *ntfs.FileInfo
}

const rootMFT = 5

func openNTFS(r io.ReaderAt, name string) (*ntfsFS, error) {
	paged, err := ntfs.NewPagedReader(r, 1024, 10000)
	if err != nil {
		return nil, err
	}
	ctx, err := ntfs.GetNTFSContext(paged, 0)
	if err != nil {
		return nil, err
	}
	return &ntfsFS{ctx: ctx, name: name, dirs: map[int64][]ntfsEntry{}}, nil
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
	for _, fi := range ntfs.ListDir(n.ctx, d) {
		// Alternate data streams are not files of their own here, and
		// "." is the directory itself.
		if strings.Contains(fi.Name, ":") || fi.Name == "." || seen[fi.Name] {
			continue
		}
		seen[fi.Name] = true
		l = append(l, ntfsEntry{mft: mftID(fi.MFTId), info: fi})
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
	x, err := n.lookup(p)
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
	x, err := n.lookup(p)
	if err != nil {
		return nil, err
	}
	if !x.info.IsDir {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	entries, err := n.list(x.mft)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: fmt.Errorf("%s: %w", n.name, err)}
	}
	for _, c := range entries {
		out = append(out, n.info(c, joinPath(p, c.info.Name)))
	}
	return out, nil
}

func (n *ntfsFS) Open(p string) (f evidence.File, err error) {
	defer recoverAs(&err, n.name, p)
	x, err := n.lookup(p)
	if err != nil {
		return nil, err
	}
	if x.info.IsDir {
		return nil, &fs.PathError{Op: "open", Path: p, Err: errIsDir}
	}
	entry, err := n.ctx.GetMFT(x.mft)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%s: MFT entry %d: %w", n.name, x.mft, err)}
	}
	data, err := ntfs.OpenStream(n.ctx, entry, 128, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%s: MFT entry %d: $DATA: %w", n.name, x.mft, err)}
	}
	return sectionFile{io.NewSectionReader(data, 0, x.info.Size)}, nil
}

func (n *ntfsFS) Join(dir, name string) string { return joinPath(dir, name) }

// NTFSContext hands the volume to readers of NTFS's own structures (the
// MFT scan of deleted files, plugins/mftscan).
func (n *ntfsFS) NTFSContext() *ntfs.NTFSContext { return n.ctx }
