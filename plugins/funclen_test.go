package plugins

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the length past which a function in plugins/ says, in
// its doc comment, why it is that long ("It is long because ...").
const maxFuncLines = 80

func TestLongFunctionsSayWhy(t *testing.T) {
	fset := token.NewFileSet()
	long := 0
	err := filepath.Walk(".", func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() && fi.Name() == "testdata" {
			return filepath.SkipDir
		}
		if fi.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch d := n.(type) {
			case *ast.FuncDecl:
				if d.Body == nil {
					return true
				}
				lines := fset.Position(d.Body.End()).Line - fset.Position(d.Body.Pos()).Line + 1
				if lines > maxFuncLines {
					long++
					if d.Doc == nil || !strings.Contains(d.Doc.Text(), "long because") {
						t.Errorf("%s: %s is %d lines: split it, or say in its doc comment why it is long (\"It is long because ...\")",
							fset.Position(d.Pos()), d.Name.Name, lines)
					}
				}
			case *ast.FuncLit:
				if lines := fset.Position(d.Body.End()).Line - fset.Position(d.Body.Pos()).Line + 1; lines > maxFuncLines {
					t.Errorf("%s: a %d-line function literal: make it a named function", fset.Position(d.Pos()), lines)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d functions over %d lines, each saying why", long, maxFuncLines)
}
