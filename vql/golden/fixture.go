package golden

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// QueryDesc is one query of a testcase with the comment above it.
type QueryDesc struct {
	Comment string
	Query   string
}

// Fixture is a NAME.in.yaml testcase, in Velociraptor's format
// (bin/golden.go testFixture).
type Fixture struct {
	Parameters map[string]string
	Queries    []QueryDesc
}

// ParseFixture reads a testcase as Velociraptor's parseFixture does:
// with gopkg.in/yaml.v3 so that a comment above a query is kept and
// printed before it in the output; non-scalar entries are skipped.
// ConfigMerges and ConfigPatches (Velociraptor config edits) are
// accepted and ignored: the vql host has no config.
func ParseFixture(data []byte) (res Fixture, err error) {
	type tmpType struct {
		ConfigMerges  []string          `yaml:"ConfigMerges"`
		ConfigPatches []string          `yaml:"ConfigPatches"`
		Parameters    map[string]string `yaml:"Parameters"`
		Queries       []yaml.Node       `yaml:"Queries"`
	}

	var n tmpType
	if err = yaml.Unmarshal(data, &n); err != nil {
		return res, err
	}
	res.Parameters = n.Parameters
	for _, node := range n.Queries {
		if node.Kind != yaml.ScalarNode {
			continue
		}
		res.Queries = append(res.Queries, QueryDesc{
			Query:   node.Value,
			Comment: node.HeadComment,
		})
	}
	return res, nil
}

// ApplyFixtureTimes applies every fixturesDir/*.times.tsv manifest to
// the tree beside it (TREE.times.tsv -> TREE/). Git does not keep file
// times; the manifests restore them so time-based logic is tested.
func ApplyFixtureTimes(fixturesDir string) error {
	manifests, err := filepath.Glob(filepath.Join(fixturesDir, "*.times.tsv"))
	if err != nil {
		return err
	}
	sort.Strings(manifests)
	for _, m := range manifests {
		tree := strings.TrimSuffix(m, ".times.tsv")
		if err := ApplyTimeManifest(m, tree); err != nil {
			return err
		}
	}
	return nil
}

type timeEntry struct {
	line  int
	rel   string
	path  string
	mtime time.Time
	isDir bool
	depth int
}

// ApplyTimeManifest sets the mtimes listed in manifest (lines
// "<relative/path>\t<RFC3339Nano UTC>", # comments, blank lines
// ignored) on the files and folders under tree: files first, then
// folders deepest first, so setting a file does not disturb the time
// of the folder holding it. A line naming a missing path is an error.
func ApplyTimeManifest(manifest, tree string) error {
	fd, err := os.Open(manifest)
	if err != nil {
		return err
	}
	defer fd.Close()

	var entries []*timeEntry
	scanner := bufio.NewScanner(fd)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for scanner.Scan() {
		line++
		text := strings.TrimRight(scanner.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		parts := strings.Split(text, "\t")
		if len(parts) != 2 {
			return fmt.Errorf("%s:%d: want <path>TAB<RFC3339Nano time>, got %q",
				manifest, line, text)
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(parts[1]))
		if err != nil {
			return fmt.Errorf("%s:%d: %w", manifest, line, err)
		}
		rel := strings.Trim(parts[0], "/")
		path := tree
		if rel != "" && rel != "." {
			path = filepath.Join(tree, filepath.FromSlash(rel))
		}
		st, err := os.Lstat(path)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: no such file or directory under %s",
				manifest, line, parts[0], tree)
		}
		depth := strings.Count(rel, "/")
		if rel == "" || rel == "." {
			depth = -1 // the tree itself goes last
		}
		entries = append(entries, &timeEntry{
			line: line, rel: rel, path: path, mtime: t,
			isDir: st.IsDir(), depth: depth,
		})
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("%s: %w", manifest, err)
	}

	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.isDir != b.isDir {
			return !a.isDir
		}
		if a.isDir && a.depth != b.depth {
			return a.depth > b.depth
		}
		return false
	})

	for _, e := range entries {
		// A zero atime leaves the access time alone.
		if err := os.Chtimes(e.path, time.Time{}, e.mtime); err != nil {
			return fmt.Errorf("%s:%d: %w", manifest, e.line, err)
		}
	}
	return nil
}
