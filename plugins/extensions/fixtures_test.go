package extensions

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixtureTree copies tests/fixtures/<name>/ into a temp dir (symlinks
// kept as links) and applies <name>.times.tsv there, so tests see the
// fixture's times without touching the repository's files. It skips the
// test when the fixture is absent.
func fixtureTree(t testing.TB, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "tests", "fixtures", name)
	if _, err := os.Stat(src); err != nil {
		t.Skipf("fixture %s absent", name)
	}
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.Create(out)
		if err != nil {
			return err
		}
		defer o.Close()
		_, err = io.Copy(o, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	applyTimes(t, dst, src+".times.tsv")
	return dst
}

// applyTimes: files first, then directories deepest first (TEAM-NOTES).
func applyTimes(t testing.TB, root, tsv string) {
	f, err := os.Open(tsv)
	if err != nil {
		t.Fatalf("times manifest: %v", err)
	}
	defer f.Close()
	type ent struct {
		p  string
		t  time.Time
		d  bool
		dp int
	}
	var list []ent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 2)
		if len(parts) != 2 {
			continue
		}
		tm, err := time.Parse(time.RFC3339Nano, parts[1])
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		p := filepath.Join(root, filepath.FromSlash(parts[0]))
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		list = append(list, ent{p, tm, st.IsDir(), strings.Count(parts[0], "/")})
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].d != list[j].d {
			return !list[i].d
		}
		return list[i].dp > list[j].dp
	})
	for _, e := range list {
		if err := os.Chtimes(e.p, e.t, e.t); err != nil {
			t.Fatal(err)
		}
	}
}

func dumpRows(t *testing.T, rows []map[string]any) {
	if testing.Verbose() {
		b, _ := json.MarshalIndent(rows, "", " ")
		t.Logf("%s", b)
	}
}
