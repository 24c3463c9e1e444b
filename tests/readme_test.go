package tests

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/azvql/azvql/artifacts"
	"github.com/azvql/azvql/plugins"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// The README is the reference users read: every azvql plugin and
// function, every built-in and every artifact the binary embeds must be
// documented there (docs/design.md, the plugin contract: a rename is a breaking change, so is a
// silent addition).
func TestReadmeDocumentsEverything(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	scope := vfilter.NewScope()
	tm := types.NewTypeMap()
	for _, p := range plugins.All() {
		name := p.Info(scope, tm).Name
		if !strings.Contains(readme, "### "+name+"(") {
			t.Errorf("README.md has no section \"### %s(...)\" for plugin %s", name, name)
		}
	}
	for _, f := range plugins.Functions() {
		name := f.Info(scope, tm).Name
		if !strings.Contains(readme, "### "+name+"(") {
			t.Errorf("README.md has no section \"### %s(...)\" for function %s", name, name)
		}
	}
	for _, bi := range builtins.List {
		if !strings.Contains(readme, "| `"+bi.Name+"` |") {
			t.Errorf("README.md does not list the built-in %s", bi.Name)
		}
	}
	err = fs.WalkDir(artifacts.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		name := strings.ReplaceAll(strings.TrimSuffix(p, ".yaml"), "/", ".")
		if !strings.Contains(readme, name) {
			t.Errorf("README.md does not document the artifact %s", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
