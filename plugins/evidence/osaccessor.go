package evidence

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// OSAccessor reads the host's own filesystem, read-only. Open refuses a
// final symlink and anything that is not a regular file, and never
// blocks on a FIFO; on Unix it opens with O_NOFOLLOW|O_NONBLOCK (and
// O_NOATIME where permitted), and Root.Open goes through OpenBeneath,
// which cannot leave the evidence root (open_unix.go, beneath_*.go).
type OSAccessor struct{}

func (OSAccessor) Lstat(path string) (FileInfo, error) { return lstatOS(path) }

// lstatSlow is os.Lstat plus fillTimes (lstatOS where one call cannot
// give both).
func lstatSlow(path string) (FileInfo, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return FileInfo{}, err
	}
	return osFileInfo(path, st), nil
}

// baseName is the last element of path, as os.Lstat names it.
func baseName(path string) string {
	i := len(path) - 1
	for i > 0 && os.IsPathSeparator(path[i]) {
		i--
	}
	path = path[:i+1]
	for j := len(path) - 1; j >= 0; j-- {
		if os.IsPathSeparator(path[j]) {
			return path[j+1:]
		}
	}
	return path
}

func (a OSAccessor) ReadDir(path string) ([]FileInfo, error) {
	f, err := openDir(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		full := filepath.Join(path, e.Name())
		fi, serr := lstatOS(full)
		if serr != nil {
			// Listed but gone or unreadable: still report the name.
			out = append(out, FileInfo{Name: e.Name(), Path: full, IsDir: e.IsDir()})
			continue
		}
		out = append(out, fi)
	}
	return out, err
}

// ReadDirNames lists a folder's names and types (from the directory
// entries: no Lstat per entry), in batches so that a large folder never
// holds more than its names.
func (OSAccessor) ReadDirNames(path string) ([]string, []fs.FileMode, error) {
	f, err := openDir(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return namesOf(f)
}

// namesOf reads an open folder's names and types.
func namesOf(f *os.File) ([]string, []fs.FileMode, error) {
	var names []string
	var types []fs.FileMode
	for {
		batch, err := f.ReadDir(1024)
		for _, e := range batch {
			names = append(names, e.Name())
			types = append(types, e.Type())
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return names, types, err
		}
	}
}

// Open opens a regular file read-only (never for writing: evidence).
func (OSAccessor) Open(path string) (File, error) { return openFile(path) }

// Readlink is a symlink's target as stored in the link.
func (OSAccessor) Readlink(path string) (string, error) { return os.Readlink(path) }

func (OSAccessor) Join(dir, name string) string { return filepath.Join(dir, name) }

func osFileInfo(path string, st os.FileInfo) FileInfo {
	fi := FileInfo{
		Name:   st.Name(),
		Path:   path,
		Size:   st.Size(),
		Mode:   st.Mode(),
		IsDir:  st.IsDir(),
		IsLink: st.Mode()&os.ModeSymlink != 0,
		Mtime:  st.ModTime().UTC(),
	}
	fillTimes(path, st, &fi)
	return fi
}
