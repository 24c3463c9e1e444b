package diskimage

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	ext4 "github.com/Velocidex/go-ext4/parser"
	"github.com/azvql/azvql/plugins/evidence"
)

// ext4FS reads an ext4 volume through go-ext4. Names match exactly, as
// Linux does. Directory listings and runs are computed here (bounded)
// rather than by go-ext4's recursive helpers, so a hostile extent tree
// or directory cannot loop or overflow the stack.
type ext4FS struct {
	ctx   *ext4.EXT4Context
	name  string // for messages: image and partition
	limit int64  // bytes in the volume
	base  int64  // the volume's offset in the disk, for messages
	avail int64  // bytes of the volume the image holds (less when truncated)

	mu   sync.Mutex
	dirs map[int64][]ext4Entry
}

type ext4Entry struct {
	name  string
	inode int64
	mode  fs.FileMode // type bits from the directory entry
}

const (
	maxExtentDepth = 5 // ext4 allows 5 levels of extent tree
	maxExtentNodes = 1 << 14
	maxRuns        = 1 << 20
	maxDirCache    = 4096
	maxDirBytes    = 64 << 20
)

func openExt4(r io.ReaderAt, size, base, avail int64, name string) (*ext4FS, error) {
	ctx, err := ext4.GetEXT4Context(r)
	if err != nil {
		return nil, err
	}
	if ctx.InodesPerGroup <= 0 || ctx.BlockSize <= 0 || ctx.InodeSize <= 0 {
		return nil, fmt.Errorf("ext4 superblock with %d inodes per group, %d-byte blocks, %d-byte inodes: damaged", ctx.InodesPerGroup, ctx.BlockSize, ctx.InodeSize)
	}
	return &ext4FS{ctx: ctx, name: name, limit: size, base: base, avail: avail, dirs: map[int64][]ext4Entry{}}, nil
}

func (e *ext4FS) openInode(n int64) (*ext4.Inode, error) {
	max := e.ctx.InodesPerGroup * int64(len(e.ctx.BlockGroup.GroupDescriptors))
	if n < 1 || n > max {
		return nil, fmt.Errorf("%s: inode %d outside the volume's %d inodes", e.name, n, max)
	}
	in, err := e.ctx.BlockGroup.OpenInode(n)
	if err != nil {
		return nil, err
	}
	if in.Offset+e.ctx.InodeSize > e.avail {
		return nil, e.pastEnd(in.Offset, fmt.Sprintf("inode %d", n))
	}
	return in, nil
}

// pastEnd is the error for structures a truncated image lost: without
// it they would read as zeros and files would silently not exist.
func (e *ext4FS) pastEnd(off int64, what string) error {
	return fmt.Errorf("%s: offset %d: %s lies past the end of the image (it holds %d bytes of this volume): truncated image", e.name, e.base+off, what, e.avail)
}

// runs walks the inode's extent tree, depth-limited.
func (e *ext4FS) runs(in *ext4.Inode) ([]ext4.Run, bool) {
	var out []ext4.Run
	bs := e.ctx.BlockSize
	nodes := 0
	var visit func(off int64, depth int) bool
	visit = func(off int64, depth int) bool {
		h := in.Profile.ExtentHeader(in.Reader, off)
		// The root node (in the inode) holds 4 entries, a tree block
		// (bs-12)/12; a count beyond that, or a tree larger than any
		// file needs, is damage, not a reason to read on.
		room := int64(4)
		if depth > 0 {
			room = (bs - 12) / 12
		}
		nodes++
		if h.Magic() != 0xf30a || depth > maxExtentDepth || int64(h.EntryCount()) > room ||
			nodes > maxExtentNodes || len(out) > maxRuns {
			return false
		}
		if h.Depth() == 0 {
			for _, x := range h.LeafEntries() {
				length := int64(x.Length())
				if length > 32768 { // uninitialized extent: allocated, reads as zeros
					length -= 32768
				}
				out = append(out, ext4.Run{
					FileOffset: int64(x.FirstLogicalBlock()) * bs,
					DiskOffset: ((int64(x.StartHi()) << 32) | int64(x.StartLo())) * bs,
					Length:     length * bs,
				})
			}
			return true
		}
		for _, i := range h.IndexEntries() {
			leaf := (int64(i.LeafLo()) | int64(i.LeafHi())<<32) * bs
			if leaf <= 0 || leaf >= e.limit || !visit(leaf, depth+1) {
				return false
			}
		}
		return true
	}
	ok := visit(in.Offset+in.Profile.Off_Inode__BlockPointers, 0)
	return out, ok
}

func (e *ext4FS) reader(in *ext4.Inode, p string) (*io.SectionReader, error) {
	size := in.DataSize()
	runs, ok := e.runs(in)
	if !ok && size > 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("%s: inode %d: data not in a valid extent tree (inline data, an ext3 block map or damage): not read", e.name, in.Inode())}
	}
	for _, r := range runs {
		if r.FileOffset < size && r.DiskOffset+min(r.Length, size-r.FileOffset) > e.avail {
			return nil, &fs.PathError{Op: "open", Path: p, Err: e.pastEnd(r.DiskOffset, fmt.Sprintf("data of inode %d", in.Inode()))}
		}
	}
	return io.NewSectionReader(&ext4.ExtentReader{Reader: in.Reader, Size: size, Runs: runs}, 0, size), nil
}

func (e *ext4FS) list(dirInode int64, p string) ([]ext4Entry, error) {
	e.mu.Lock()
	l, ok := e.dirs[dirInode]
	e.mu.Unlock()
	if ok {
		return l, nil
	}
	in, err := e.openInode(dirInode)
	if err != nil {
		return nil, err
	}
	r, err := e.reader(in, p)
	if err != nil {
		return nil, err
	}
	size := min(r.Size(), maxDirBytes)
	for off := int64(0); off+8 <= size; {
		d := in.Profile.Ext4DirEntry(r, off)
		reclen := int64(d.RecLen())
		if reclen < 8 {
			break // damaged block: what came before is kept
		}
		if d.Inode() != 0 && d.FileTypeInt() != 0 {
			name := ext4.ParseString(r, off+in.Profile.Off_Ext4DirEntry_Name, int64(d.NameLen()))
			if name != "." && name != ".." && name != "" {
				l = append(l, ext4Entry{name: name, inode: int64(d.Inode()), mode: direntMode(d.FileTypeInt())})
			}
		}
		off += reclen
	}
	e.mu.Lock()
	if len(e.dirs) >= maxDirCache {
		e.dirs = map[int64][]ext4Entry{}
	}
	e.dirs[dirInode] = l
	e.mu.Unlock()
	return l, nil
}

func direntMode(t uint8) fs.FileMode {
	switch t {
	case 2:
		return fs.ModeDir
	case 3:
		return fs.ModeDevice | fs.ModeCharDevice
	case 4:
		return fs.ModeDevice
	case 5:
		return fs.ModeNamedPipe
	case 6:
		return fs.ModeSocket
	case 7:
		return fs.ModeSymlink
	}
	return 0
}

// lookup finds the directory entry of a path ("" components: the root).
func (e *ext4FS) lookup(p string) (ext4Entry, error) {
	cur := ext4Entry{name: "/", inode: ext4.ROOT_INODE, mode: fs.ModeDir}
	for _, c := range splitPath(p) {
		if !cur.mode.IsDir() {
			return ext4Entry{}, &fs.PathError{Op: "lstat", Path: p, Err: errNotDir}
		}
		entries, err := e.list(cur.inode, p)
		if err != nil {
			return ext4Entry{}, err
		}
		found := false
		for _, x := range entries {
			if x.name == c {
				cur, found = x, true
				break
			}
		}
		if !found {
			return ext4Entry{}, notExist("lstat", p)
		}
	}
	return cur, nil
}

func (e *ext4FS) info(x ext4Entry, p string) (evidence.FileInfo, error) {
	in, err := e.openInode(x.inode)
	if err != nil {
		return evidence.FileInfo{}, err
	}
	st := in.Stat()
	raw := uint32(in.Mode())
	mode := fs.FileMode(raw&0o777) | x.mode
	if raw&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if raw&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if raw&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	fi := evidence.FileInfo{
		Name:   x.name,
		Path:   p,
		Size:   st.Size(),
		Mode:   mode,
		IsDir:  x.mode.IsDir(),
		IsLink: x.mode&fs.ModeSymlink != 0,
		Mtime:  st.Mtime().UTC(),
		Atime:  st.Atime().UTC(),
		Ctime:  st.Ctime().UTC(),
		Btime:  st.Btime().UTC(),
	}
	return fi, nil
}

func (e *ext4FS) Lstat(p string) (fi evidence.FileInfo, err error) {
	defer recoverAs(&err, e.name, p)
	x, err := e.lookup(p)
	if err != nil {
		return evidence.FileInfo{}, err
	}
	if x.inode == ext4.ROOT_INODE {
		x.name = ""
	}
	return e.info(x, p)
}

func (e *ext4FS) ReadDir(p string) (out []evidence.FileInfo, err error) {
	defer recoverAs(&err, e.name, p)
	x, err := e.lookup(p)
	if err != nil {
		return nil, err
	}
	if !x.mode.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: errNotDir}
	}
	entries, err := e.list(x.inode, p)
	if err != nil {
		return nil, err
	}
	for _, c := range entries {
		cp := joinPath(p, c.name)
		fi, ierr := e.info(c, cp)
		if ierr != nil {
			fi = evidence.FileInfo{Name: c.name, Path: cp, IsDir: c.mode.IsDir()}
		}
		out = append(out, fi)
	}
	return out, nil
}

func (e *ext4FS) Open(p string) (f evidence.File, err error) {
	defer recoverAs(&err, e.name, p)
	x, err := e.lookup(p)
	if err != nil {
		return nil, err
	}
	if x.mode.IsDir() {
		return nil, &fs.PathError{Op: "open", Path: p, Err: errIsDir}
	}
	in, err := e.openInode(x.inode)
	if err != nil {
		return nil, err
	}
	r, err := e.reader(in, p)
	if err != nil {
		return nil, err
	}
	return sectionFile{r}, nil
}

func (e *ext4FS) Join(dir, name string) string { return joinPath(dir, name) }

// sectionFile is an evidence.File that also seeks and reads at offsets.
type sectionFile struct{ *io.SectionReader }

func (sectionFile) Close() error { return nil }

// recoverAs turns a panic in a parser library (hostile structures it did
// not bound) into an error naming the image and path.
func recoverAs(err *error, image, p string) {
	if r := recover(); r != nil {
		*err = &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("%s: damaged structure (%v)", image, r)}
	}
}
