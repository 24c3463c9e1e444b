package extensions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// memFS is an in-memory accessor for fuzzing the join without disk I/O.
type memFS struct {
	files map[string][]byte // path -> content; directories are implied
}

func (m memFS) isDir(p string) bool {
	pre := strings.TrimSuffix(p, "/") + "/"
	for k := range m.files {
		if strings.HasPrefix(k, pre) {
			return true
		}
	}
	return false
}

func (m memFS) Lstat(p string) (evidence.FileInfo, error) {
	if b, ok := m.files[p]; ok {
		return evidence.FileInfo{Name: path.Base(p), Path: p, Size: int64(len(b)), Mtime: time.Unix(1714644000, 0)}, nil
	}
	if p == "/" || m.isDir(p) {
		return evidence.FileInfo{Name: path.Base(p), Path: p, IsDir: true}, nil
	}
	return evidence.FileInfo{}, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
}

func (m memFS) ReadDir(p string) ([]evidence.FileInfo, error) {
	if !m.isDir(p) {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: fs.ErrNotExist}
	}
	pre := strings.TrimSuffix(p, "/") + "/"
	seen := map[string]bool{}
	var out []evidence.FileInfo
	for k := range m.files {
		if !strings.HasPrefix(k, pre) {
			continue
		}
		name := strings.SplitN(k[len(pre):], "/", 2)[0]
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		fi, _ := m.Lstat(pre + name)
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m memFS) Open(p string) (evidence.File, error) {
	b, ok := m.files[p]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (memFS) Join(dir, name string) string { return path.Join(dir, name) }

// fixtureSeeds returns the fixture files (if the fixture tree is there)
// whose names end with ext.
func fixtureSeeds(ext string) [][]byte {
	var out [][]byte
	for _, tree := range []string{"linux", "linux-bad"} {
		root := filepath.Join("..", "..", "tests", "fixtures", tree)
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
				if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
					out = append(out, b)
				}
			}
			return nil
		})
	}
	return out
}

func FuzzParseSettings(f *testing.F) {
	for _, s := range []string{
		settingsJSON("{}", true),
		settingsJSON(`{"fileUris": ["`+sasURL+`"], "commandToExecute": "sh payload.sh"}`, false),
		settingsJSON(`{"script": "H4sIAAAAAAAAA0tNzshXUMpIzcnJBwCGphA2CwAAAA=="}`, false),
		settingsJSON(`{"source": {"script": "id"}, "artifacts": [{"uri": "https://x/y?sig=a"}]}`, true),
		settingsJSON(`{"script": ["whoami"]}`, false),
		"", `{"runtimeSettings": [{"handlerSett`,
	} {
		f.Add([]byte(s))
	}
	for _, b := range fixtureSeeds(".settings") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSettings(data)
		if s == nil {
			t.Fatal("nil settings")
		}
		row := SettingsRow(fileMeta{OSPath: "/var/lib/waagent/A.B-1.0/config/0.settings"}, s, err, true)
		if _, err := json.Marshal(row); err != nil {
			t.Fatalf("row does not serialise: %v", err)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{statusShimPlaceholder, statusGoFinal, statusCSEError, statusRCv2, statusRCv2Shim, statusAgent, statusOSTC, statusWindows, "", "[]", "{}"} {
		f.Add([]byte(s))
	}
	f.Add(utf16le(statusWindows, true))
	if b, err := os.ReadFile("testdata/sample-status.json"); err == nil {
		f.Add(b)
	}
	for _, b := range fixtureSeeds(".status") {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStatus(data)
		if s == nil {
			t.Fatal("nil status")
		}
		row := StatusRow(fileMeta{OSPath: "/var/lib/waagent/A.B-1.0/status/0.status"}, s, err, true)
		if _, err := json.Marshal(row); err != nil {
			t.Fatalf("row does not serialise: %v", err)
		}
	})
}

// FuzzExecutionsJoin fuzzes the join: the contents of every file an
// execution is built from, and the names of a sequence folder and file.
func FuzzExecutionsJoin(f *testing.F) {
	f.Add([]byte(settingsJSON("{}", true)), []byte(statusGoFinal), []byte("3"), []byte("4242\tThu May  2 10:11:13 2024\n"), []byte("#!/bin/sh\nid\n"), "3", "dropped.bin")
	f.Add([]byte(""), []byte(statusShimPlaceholder), []byte("x"), []byte(""), []byte(""), "0", "sub/x")
	f.Add([]byte("{"), []byte("["), []byte("99999999999999999999"), []byte("\t"), []byte{0xff, 0xfe, 0}, "-1", "")
	f.Fuzz(func(t *testing.T, settings, status, mrseq, pidstart, script []byte, seq, extra string) {
		if strings.ContainsAny(seq, "/\x00") || len(seq) > 40 || len(extra) > 80 {
			return
		}
		h := "/e/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/"
		dl := "/e/var/lib/waagent/run-command/download/"
		files := map[string][]byte{
			h + "config/" + seq + ".settings": settings,
			h + "status/" + seq + ".status":   status,
			h + "config/0.settings":           settings,
			h + "mrseq":                       mrseq,
			h + "pidstart":                    pidstart,
			dl + seq + "/script.sh":           script,
			dl + seq + "/stdout":              status,
			dl + "0/stderr":                   settings,
		}
		if extra != "" && !strings.Contains(extra, "..") && !strings.HasPrefix(extra, "/") {
			files[path.Clean(dl+seq+"/"+extra)] = script
		}
		r := evidence.NewRoot(memFS{files: files}, "/e")
		n := 0
		WalkExecutions(context.Background(), r, true, func(string, ...any) {}, func(row *ordereddict.Dict) bool {
			n++
			if _, err := json.Marshal(row); err != nil {
				t.Fatalf("row does not serialise: %v", err)
			}
			return true
		})
		if n > 2 {
			t.Fatalf("%d rows from at most 2 sequences", n)
		}
	})
}
