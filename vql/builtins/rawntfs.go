package builtins

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

func init() {
	// Velociraptor's "raw_ntfs" accessor, for reading a file of an NTFS
	// volume image without mounting it: what stock VQL passes to parse_mft
	// (Windows.Azure.DeletedExtensions' stock path with Image).
	evidence.Register("raw_ntfs", func(scope vfilter.Scope) (evidence.Accessor, error) {
		return rawNTFSAccessor{scope: scope}, nil
	})
}

// rawNTFSAccessor opens files inside the NTFS volume that starts at
// offset 0 of another file (a bare volume image, as Velociraptor's
// raw_ntfs reads it). A path is a pathspec in JSON:
// {"DelegateAccessor":"file","DelegatePath":IMAGE,"Path":"$MFT"}. Only
// files are opened; directories are not listed.
type rawNTFSAccessor struct{ scope vfilter.Scope }

type rawNTFSPath struct {
	DelegateAccessor string
	DelegatePath     string
	Path             string
}

func parseRawNTFSPath(p string) (rawNTFSPath, error) {
	var spec rawNTFSPath
	if !strings.HasPrefix(strings.TrimSpace(p), "{") {
		return spec, fmt.Errorf("raw_ntfs: %q is not a pathspec ({\"DelegatePath\": image, \"Path\": file})", p)
	}
	if err := json.Unmarshal([]byte(p), &spec); err != nil {
		return spec, fmt.Errorf("raw_ntfs: pathspec %s: %w", p, err)
	}
	if spec.DelegatePath == "" {
		return spec, fmt.Errorf("raw_ntfs: pathspec %s names no DelegatePath (the volume image)", p)
	}
	if spec.DelegateAccessor == "" {
		spec.DelegateAccessor = "file"
	}
	return spec, nil
}

// rawNTFSFile is one file of the volume, its image open while it is.
type rawNTFSFile struct {
	*io.SectionReader
	close func()
}

func (f *rawNTFSFile) Close() error { f.close(); return nil }

func (a rawNTFSAccessor) open(p string) (f *rawNTFSFile, err error) {
	spec, err := parseRawNTFSPath(p)
	if err != nil {
		return nil, err
	}
	r, _, closer, err := openReaderAt(a.scope, spec.DelegateAccessor, spec.DelegatePath)
	if err != nil {
		return nil, fmt.Errorf("raw_ntfs: %s: %w", spec.DelegatePath, err)
	}
	// go-ntfs may panic on a damaged volume: an error naming the image.
	defer func() {
		if rec := recover(); rec != nil {
			closer()
			f, err = nil, fmt.Errorf("raw_ntfs: %s: damaged NTFS volume: %v", spec.DelegatePath, rec)
		}
	}()
	v, err := ntfs.GetNTFSContext(r, 0)
	if err != nil {
		closer()
		return nil, fmt.Errorf("raw_ntfs: %s: no NTFS volume at offset 0: %w", spec.DelegatePath, err)
	}
	done := func() { v.Close(); closer() }
	data, err := ntfs.GetDataForPath(v, spec.Path)
	if err != nil {
		done()
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return &rawNTFSFile{SectionReader: io.NewSectionReader(data, 0, ntfs.RangeSize(data)), close: done}, nil
}

func (a rawNTFSAccessor) Open(p string) (evidence.File, error) { return a.open(p) }

func (a rawNTFSAccessor) Lstat(p string) (evidence.FileInfo, error) {
	f, err := a.open(p)
	if err != nil {
		return evidence.FileInfo{}, err
	}
	defer f.Close()
	spec, _ := parseRawNTFSPath(p)
	name := spec.Path
	if i := strings.LastIndexAny(name, `\/`); i >= 0 {
		name = name[i+1:]
	}
	return evidence.FileInfo{Name: name, Path: p, Size: f.Size()}, nil
}

func (a rawNTFSAccessor) ReadDir(p string) ([]evidence.FileInfo, error) {
	return nil, errors.New("raw_ntfs: listing a directory is not supported (open files by pathspec)")
}

func (a rawNTFSAccessor) Join(dir, name string) string {
	spec, err := parseRawNTFSPath(dir)
	if err != nil {
		return dir + `\` + name
	}
	spec.Path = strings.TrimRight(spec.Path, `\/`) + `\` + name
	b, _ := json.Marshal(spec)
	return string(b)
}
