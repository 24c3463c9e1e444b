package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/azvql/azvql/internal/fixtures"
)

// vql report on the demo Windows VM: the page is one self-contained file
// (nothing fetched), and a real browser renders it with the chart drawn
// and the counts matching the rows. The screenshot is kept in
// build/test-artifacts/ (ignored by git) for a person to look at.
func TestReportInBrowser(t *testing.T) {
	root, err := fixtures.CopyAndApply("fixtures", "windows", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, stderr, err := run(t, "report", "--output", out, root); err != nil {
		t.Fatalf("vql report: %v\n%s", err, stderr)
	}
	page := filepath.Join(out, "windows.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	// Self-contained: no external resource of any kind.
	for _, re := range []string{`(?i)<(script|img|link|iframe)[^>]+(src|href)=`, `(?i)@import`, `(?i)url\(`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("page loads an external resource: %q", m)
		}
	}
	if strings.Contains(html, root) {
		t.Errorf("page names the analyst's path %s", root)
	}

	// What the page must show: the artifact's own executions.
	stdout, stderr, err := run(t, "artifacts", "collect", "Generic.Azure.Executions",
		"--args", "Root="+root, "--format", "jsonl")
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, stderr)
	}
	nExec, nTimed := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r map[string]interface{}
		if json.Unmarshal([]byte(l), &r) != nil || r["_Source"] != "Generic.Azure.Executions/Executions" {
			continue
		}
		nExec++
		if r["Started"] != nil || r["Finished"] != nil {
			nTimed++
		}
	}
	if nExec != 7 || nTimed != 7 {
		t.Fatalf("windows fixture: %d executions, %d with a time; want 7 and 7 (tests/fixtures/README.md)", nExec, nTimed)
	}

	chromium := ""
	for _, c := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(c); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("SKIP browser check: no chromium (Debian package chromium; .ci/run installs it)")
	}
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--hide-scrollbars"}
	dump := exec.Command(chromium, append(flags, "--dump-dom", "file://"+page)...)
	dom, err := dump.Output()
	if err != nil || len(dom) == 0 {
		t.Skipf("SKIP browser check: chromium could not start (%v)", err)
	}
	d := string(dom)
	// The rendered page: one bar per timed execution, one table row per
	// execution, and the counts in the header agree.
	if n := strings.Count(d, `class="mark exec"`); n != nTimed {
		t.Errorf("chart draws %d execution marks, want %d", n, nTimed)
	}
	tbody := between(d, `<table class="sortable" id="executions">`, `</table>`)
	if n := strings.Count(tbody, "<tr>") - 1; n != nExec { // minus the header row
		t.Errorf("executions table has %d rows, want %d", n, nExec)
	}
	if m := regexp.MustCompile(`<span id="n-exec">(\d+)</span>`).FindStringSubmatch(d); m == nil || m[1] != strconv.Itoa(nExec) {
		t.Errorf("header count %v, want %d", m, nExec)
	}
	for _, want := range []string{"Microsoft.CPlat.Core.RunCommandWindows", "net user svc_support", "Activity Log not read"} {
		if !strings.Contains(d, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	art := filepath.Join("..", "build", "test-artifacts")
	if err := os.MkdirAll(art, 0o755); err == nil {
		shot, _ := filepath.Abs(filepath.Join(art, "report-windows.png"))
		cmd := exec.Command(chromium, append(flags, "--window-size=1280,1400", "--screenshot="+shot, "file://"+page)...)
		if err := cmd.Run(); err != nil {
			t.Errorf("screenshot: %v", err)
		} else if st, err := os.Stat(shot); err != nil || st.Size() == 0 || time.Since(st.ModTime()) > time.Minute {
			t.Errorf("no screenshot at %s", shot)
		} else {
			t.Logf("screenshot: %s", shot)
		}
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
