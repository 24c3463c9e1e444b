package tests

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azvql/azvql/internal/fixtures"
)

// The timeline marks rows whose time is a file time on a tree copied
// without its times (issue 16 §2): every file of the Windows fixture set
// to one instant, the executions' mtime-based rows carry TimeConflict
// and the walk warns once.
func TestTimelineLostTimes(t *testing.T) {
	root, err := fixtures.CopyAndApply("fixtures", "windows", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	copied := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, copied, copied)
		}
		return nil
	})
	stdout, stderr, err := run(t, "-v", "artifacts", "collect", "Generic.Azure.Timeline",
		"--args", "Root="+root, "--format", "jsonl")
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, stderr)
	}
	// once per walk; each of the two sources walks, and the host's log
	// may fold the repeat
	if n := strings.Count(stderr, "have the same time, 2026-12-04T10:00:00Z"); n < 1 || n > 2 {
		t.Errorf("want the tree warning once per walk, got %d:\n%s", n, stderr)
	}
	marked, mtimeRows := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r map[string]interface{}
		if json.Unmarshal([]byte(l), &r) != nil || r["Source"] != "Executions" {
			continue
		}
		s, _ := r["Summary"].(string)
		tc, _ := r["TimeConflict"].(string)
		if strings.Contains(s, ".mtime)") {
			mtimeRows++
			if !strings.Contains(tc, "file times not preserved") {
				t.Errorf("%s: TimeConflict %q", s, tc)
			}
		}
		if tc != "" {
			marked++
		}
	}
	if mtimeRows == 0 || marked < mtimeRows {
		t.Errorf("%d rows from mtimes, %d marked", mtimeRows, marked)
	}
}
