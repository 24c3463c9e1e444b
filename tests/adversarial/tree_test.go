//go:build unix

package adversarial

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// marker is the content of every file outside the evidence root: if it
// reaches a row or the log, something was read outside Root.
const marker = "AZVQL-ADVERSARIAL-OUTSIDE-7c3f9e"

// Paths of the base trees (as on the evidence system).
const (
	handler  = "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5"
	download = "/var/lib/waagent/run-command/download"
	thumb    = "010F03CA0562E782EF60F02376591592CF2101F4"
	history  = "/var/lib/waagent/history"
	histDir  = history + "/2025-06-11T21-44-41__1-7390268434121519467"
	histZip  = history + "/2021-11-16T13-23-05__9.zip"
	rcLogDir = "/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux"
	winH     = `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22`
	winLogs  = `C:\WindowsAzure\Logs`
)

// tree is one hostile evidence tree and the "analyst's own" folder
// outside it.
type tree struct {
	t       *testing.T
	root    string // the evidence root (root= argument)
	outside string // outside Root: marker files and a marker copy of the tree
	windows bool
}

// host maps an evidence path ("/var/..." or `C:\...`) to the host path.
func (tr *tree) host(p string) string {
	if strings.HasPrefix(p, "C:") {
		p = strings.ReplaceAll(p[2:], `\`, "/")
	}
	return filepath.Join(tr.root, filepath.FromSlash(p))
}

// out maps an evidence path to its marker copy outside Root.
func (tr *tree) out(p string) string {
	if strings.HasPrefix(p, "C:") {
		p = strings.ReplaceAll(p[2:], `\`, "/")
	}
	return filepath.Join(tr.outside, "tree", filepath.FromSlash(p))
}

func (tr *tree) must(err error) {
	tr.t.Helper()
	if err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) clear(p string) string {
	h := tr.host(p)
	tr.must(os.MkdirAll(filepath.Dir(h), 0o755))
	tr.must(os.RemoveAll(h))
	return h
}

func (tr *tree) write(p, content string) {
	tr.must(os.WriteFile(tr.clear(p), []byte(content), 0o644))
}

func (tr *tree) mkdir(p string) { tr.must(os.MkdirAll(tr.clear(p), 0o755)) }

func (tr *tree) link(p, target string) { tr.must(os.Symlink(target, tr.clear(p))) }

// linkOut replaces p by an absolute link to its marker copy outside.
func (tr *tree) linkOut(p string) { tr.link(p, tr.out(p)) }

// chmod changes p's mode; a file is first replaced by a copy of its own
// (the tree shares its files with the template through hard links).
func (tr *tree) chmod(p string, m fs.FileMode) {
	h := tr.host(p)
	if st, err := os.Lstat(h); err == nil && st.Mode().IsRegular() {
		b, err := os.ReadFile(h)
		tr.must(err)
		tr.write(p, string(b))
	}
	tr.must(os.Chmod(h, m))
}

// copyTree copies src into dst (files 0644, folders 0755; links kept).
func copyTree(t *testing.T, src, dst string, content func(rel string, b []byte) []byte) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil // the base trees hold no links; hostile ones are added per case
		case d.IsDir():
			if filepath.Base(p) == "README.md" {
				return nil
			}
			return os.MkdirAll(target, 0o755)
		}
		if rel == "README.md" {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		b, err := io.ReadAll(in)
		if err != nil {
			return err
		}
		if content != nil {
			b = content(filepath.ToSlash(rel), b)
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// markerContent is what every file outside Root holds: text with the
// marker, shaped so that a parser would turn it into rows if it were
// ever read (agent log lines, JSON, a settings document).
func markerContent(rel string, _ []byte) []byte {
	switch {
	case strings.HasSuffix(rel, ".settings"):
		return []byte(`{"runtimeSettings":[{"handlerSettings":{"publicSettings":{"commandToExecute":"` + marker + `"}}}]}`)
	case strings.HasSuffix(rel, ".status"), strings.HasSuffix(rel, ".json"):
		return []byte(`[{"status":{"status":"success","formattedMessage":{"message":"` + marker + `"}}}]`)
	case strings.HasSuffix(rel, ".log"):
		return []byte("2025-03-14T09:00:00.000000Z INFO ExtHandler " + marker + "\n" +
			`time=2025-03-14T09:00:00Z version=1.0.5 operation=enable seq=0 event="` + marker + "\"\n")
	}
	return []byte(marker + "\n")
}

// templates are the base trees, built once per OS; outside is shared by
// every case (no case writes there) and each case's root is a copy made
// of hard links (cheap), which tree's helpers never write through: they
// replace a file (clear) rather than change it in place.
var (
	tmplOnce sync.Once
	tmplDir  string
	tmplErr  error
)

func templates(t *testing.T) string {
	t.Helper()
	tmplOnce.Do(func() {
		tmplDir, tmplErr = os.MkdirTemp("", "azvql-adversarial-")
		if tmplErr != nil {
			return
		}
		fx := filepath.Join("..", "fixtures")
		for _, os_ := range []string{"linux", "windows"} {
			srcs := []string{filepath.Join(fx, "windows")}
			if os_ == "linux" {
				srcs = []string{filepath.Join(fx, "goalstates"), filepath.Join(fx, "logs"), filepath.Join(fx, "linux")}
			}
			for _, s := range srcs {
				copyTree(t, s, filepath.Join(tmplDir, os_, "root"), nil)
				copyTree(t, s, filepath.Join(tmplDir, os_, "outside", "tree"), markerContent)
			}
			if os_ == "linux" {
				// The logs fixture's Windows half is not part of a Linux VM.
				os.RemoveAll(filepath.Join(tmplDir, os_, "root", "WindowsAzure"))
			}
			out := filepath.Join(tmplDir, os_, "outside")
			write := func(name string, b []byte, m os.FileMode) {
				if err := os.WriteFile(filepath.Join(out, name), b, m); err != nil && tmplErr == nil {
					tmplErr = err
				}
			}
			write("secret.txt", []byte(marker+"\n"), 0o644)
			write("shadow", []byte("root:"+marker+":19000:0:99999:7:::\n"), 0o644)
			// The real key, outside: a .prv link to it must not decrypt.
			key, err := os.ReadFile(filepath.Join(fx, "linux", "var", "lib", "waagent", thumb+".prv"))
			if err != nil {
				tmplErr = err
				return
			}
			write("key.prv", key, 0o600)
		}
	})
	if tmplErr != nil {
		t.Fatal(tmplErr)
	}
	return tmplDir
}

// newTree is a fresh copy of the base tree of one OS: the demo VM
// (tests/fixtures/linux) with goal-state history, telemetry events and
// handler event files from the other fixtures; or the Windows C: drive.
func newTree(t *testing.T, windows bool) *tree {
	t.Helper()
	os_ := "linux"
	if windows {
		os_ = "windows"
	}
	tmpl := filepath.Join(templates(t), os_)
	tr := &tree{t: t, root: filepath.Join(t.TempDir(), "root"), outside: filepath.Join(tmpl, "outside"), windows: windows}
	err := filepath.WalkDir(filepath.Join(tmpl, "root"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(tmpl, "root"), p)
		target := filepath.Join(tr.root, rel)
		if d.IsDir() {
			return os.Mkdir(target, 0o755)
		}
		return os.Link(p, target)
	})
	tr.must(err)
	return tr
}
