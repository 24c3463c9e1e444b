package diskimage

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"

	"github.com/azvql/azvql/plugins/evidence"
)

func tinyExt4(t testing.TB) []byte {
	f, err := os.Open("testdata/tiny.ext4.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// walk reads every folder and file it can, bounded, as an artifact would.
func walk(a evidence.Accessor, dir string, depth int, files *int) {
	if depth > 8 {
		return
	}
	list, _ := a.ReadDir(dir)
	for i, fi := range list {
		if i > 200 {
			return
		}
		if fi.IsDir {
			walk(a, fi.Path, depth+1, files)
			continue
		}
		if f, err := a.Open(fi.Path); err == nil {
			io.Copy(io.Discard, io.LimitReader(f, 1<<16))
			f.Close()
			*files++
		}
	}
}

func TestTinyExt4(t *testing.T) {
	b := tinyExt4(t)
	v, probs, err := openVolume(bytes.NewReader(b), int64(len(b)), Partition{Size: int64(len(b))}, "tiny")
	if err != nil || v == nil || len(probs) != 0 {
		t.Fatalf("%v %v %v", v, probs, err)
	}
	if v.FS != "ext4" || v.OS != "/var/lib/waagent" {
		t.Errorf("volume %s, OS %q", v.FS, v.OS)
	}
	f, err := v.access.Open("/var/lib/waagent/x.settings")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	if string(data) != "{\"a\":1}\n" {
		t.Errorf("content %q", data)
	}
	if _, err := v.access.Lstat("/Etc/hostname"); !evidence.IsNotExist(err) {
		t.Errorf("ext4 names are case-sensitive: %v", err)
	}
	files := 0
	walk(v.access, "/", 0, &files)
	if files != 2 {
		t.Errorf("%d files read", files)
	}
}

// FuzzExt4Volume: damaged ext4 structures (extent trees, directory
// blocks, inode numbers) end in errors, never in a panic, a loop or a
// read without bound.
func FuzzExt4Volume(f *testing.F) {
	f.Add(tinyExt4(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := openVolume(bytes.NewReader(b), int64(len(b)), Partition{Size: int64(len(b))}, "f")
		if err != nil || v == nil {
			return
		}
		files := 0
		walk(v.access, "/", 0, &files)
	})
}
