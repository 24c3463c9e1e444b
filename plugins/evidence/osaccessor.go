package evidence

import (
	"os"
	"path/filepath"
)

// OSAccessor reads the host's own filesystem with the os package, read-only.
type OSAccessor struct{}

func (OSAccessor) Lstat(path string) (FileInfo, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return FileInfo{}, err
	}
	return osFileInfo(path, st), nil
}

func (a OSAccessor) ReadDir(path string) ([]FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		full := filepath.Join(path, e.Name())
		st, serr := os.Lstat(full)
		if serr != nil {
			// Listed but gone or unreadable: still report the name.
			out = append(out, FileInfo{Name: e.Name(), Path: full, IsDir: e.IsDir()})
			continue
		}
		out = append(out, osFileInfo(full, st))
	}
	return out, err
}

func (OSAccessor) Open(path string) (File, error) {
	// os.Open is O_RDONLY: evidence is never opened for writing.
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: errIsDir}
	}
	return f, nil
}

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
