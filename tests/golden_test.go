// Package tests runs the golden testcases and the artifact checks.
package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/vql/golden"
)

// TestGolden runs every tests/testcases/NAME.in.yaml and fails on any
// difference from NAME.out.yaml (or a missing one). Update the golden
// files with `vql golden tests/testcases --update` and review the diff.
func TestGolden(t *testing.T) {
	srcDir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := golden.LoadRepository(srcDir, nil)
	if err != nil {
		t.Fatal(err)
	}

	var log strings.Builder
	results, err := golden.Run(golden.Options{
		Dir:        filepath.Join(srcDir, "tests", "testcases"),
		Filter:     os.Getenv("GOLDEN_FILTER"),
		SrcDir:     srcDir,
		Repository: repo,
		Out:        &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		name := strings.TrimSuffix(filepath.Base(r.File), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			if r.Failed() {
				t.Errorf("%v\n%s", r.Err, r.Diff)
			}
		})
	}
}
