package catalog

import (
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCatalogueEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, h := range Handlers {
		key := h.OS + "/" + strings.ToLower(h.Name)
		if seen[key] {
			t.Errorf("%s listed twice", key)
		}
		seen[key] = true
		if strings.Count(h.Name, ".") < 1 {
			t.Errorf("%s: not Publisher.Type", h.Name)
		}
		if h.OS != Linux && h.OS != Windows {
			t.Errorf("%s: OS %q", h.Name, h.OS)
		}
		switch h.Kind {
		case KindRunCommand, KindManagedRunCommand, KindCustomScript:
		default:
			t.Errorf("%s: Kind %q", h.Name, h.Kind)
		}
		// The name/seq layout is how multi-config runs are told apart.
		if h.MultiConfig != (h.Layout == LayoutNameSeq) {
			t.Errorf("%s: MultiConfig %v with layout %q", h.Name, h.MultiConfig, h.Layout)
		}
		if len(h.DownloadDirs) == 0 && h.HandlerDownloadDir == "" {
			t.Errorf("%s: no working folder", h.Name)
		}
		if len(h.LogFiles) == 0 {
			t.Errorf("%s: no log file", h.Name)
		}
		for _, d := range h.DownloadDirs {
			if h.DataDir == "" || !strings.HasPrefix(d, h.DataDir+"/") {
				t.Errorf("%s: download folder %s outside its data folder %q", h.Name, d, h.DataDir)
			}
		}
	}
}

func TestLookups(t *testing.T) {
	if h := Lookup(Linux, "microsoft.cplat.core.runcommandlinux"); h == nil || h.Kind != KindRunCommand {
		t.Errorf("Lookup folds case: %+v", h)
	}
	if Lookup(Windows, "Microsoft.CPlat.Core.RunCommandLinux") != nil {
		t.Error("Lookup ignores the OS")
	}
	if h := ByLinuxLogDir("run-command-handler"); h == nil || h.Name != "Microsoft.CPlat.Core.RunCommandHandlerLinux" {
		t.Errorf("ByLinuxLogDir(run-command-handler) = %+v", h)
	}
	if h := ByLinuxLogDir("run-command"); h == nil || h.Name != "Microsoft.CPlat.Core.RunCommandLinux" {
		t.Errorf("ByLinuxLogDir(run-command) = %+v", h)
	}
	if ByLinuxLogDir("Microsoft.CPlat.Core.RunCommandLinux") != nil {
		t.Error("ByLinuxLogDir matched a logFolder named after the handler")
	}
	mc := strings.Join(MultiConfigNames(), ",")
	if mc != "Microsoft.CPlat.Core.RunCommandHandlerLinux,Microsoft.CPlat.Core.RunCommandHandlerWindows" {
		t.Errorf("MultiConfigNames = %s", mc)
	}
	if d := strings.Join(DataDirNames(), ","); d != "run-command,run-command-handler,custom-script" {
		t.Errorf("DataDirNames = %s", d)
	}
	w := Lookup(Windows, "Microsoft.CPlat.Core.RunCommandWindows")
	if w.EventsFolder() != `C:\WindowsAzure\Logs\Plugins\Microsoft.CPlat.Core.RunCommandWindows\Events` ||
		w.LogFolder() != `C:\WindowsAzure\Logs\Plugins\Microsoft.CPlat.Core.RunCommandWindows` ||
		w.HandlerFolderGlob() != `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\*` {
		t.Errorf("Windows folders: %s %s %s", w.EventsFolder(), w.LogFolder(), w.HandlerFolderGlob())
	}
	l := Lookup(Linux, "Microsoft.Azure.Extensions.CustomScript")
	if l.EventsFolder() != "/var/log/azure/Microsoft.Azure.Extensions.CustomScript/events" ||
		l.HandlerFolderGlob() != "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-*" {
		t.Errorf("Linux folders: %s %s", l.EventsFolder(), l.HandlerFolderGlob())
	}
}

// TestSinglePlace: no string literal in the project's production Go code
// (outside this package) names a catalogued handler or one of its data
// or log folders; the families read them from here.
func TestSinglePlace(t *testing.T) {
	var needles []string
	for _, h := range Handlers {
		needles = append(needles, h.Name)
		if h.DataDir != "" {
			needles = append(needles, h.DataDir)
		}
		needles = append(needles, h.LogDirs...)
	}
	for _, top := range []string{"../../plugins", "../../vql", "../../internal"} {
		err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "catalog") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fset := token.NewFileSet()
			var s scanner.Scanner
			s.Init(fset.AddFile(p, -1, len(src)), src, nil, 0)
			for {
				pos, tok, lit := s.Scan()
				if tok == token.EOF {
					break
				}
				if tok != token.STRING {
					continue
				}
				for _, n := range needles {
					if strings.Contains(strings.ToLower(lit), strings.ToLower(n)) {
						t.Errorf("%s: literal %s names %s: read it from plugins/catalog", fset.Position(pos), lit, n)
					}
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// TestEveryHandlerHasAFixture: adding a handler is an entry plus a
// fixture tree (tests/fixtures) that holds a version folder of it.
func TestEveryHandlerHasAFixture(t *testing.T) {
	for _, h := range Handlers {
		var pattern string
		if h.OS == Windows {
			pattern = "../../tests/fixtures/*/Packages/Plugins/" + h.Name + "/*"
		} else {
			pattern = "../../tests/fixtures/*/var/lib/waagent/" + h.Name + "-*"
		}
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Errorf("%s: no fixture tree holds it (%s)", h.Name, pattern)
		}
	}
}
