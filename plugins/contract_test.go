package plugins

import (
	"context"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/internal/fixtures"
	"github.com/azvql/azvql/plugins/diskimage"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// The plugin contract, checked for every plugin and function that All()
// and Functions() list, so a new family is held to it without anyone
// remembering to add a test.

// arg is one argument of a plugin or function, from its args struct.
type arg struct {
	field, name string
	required    bool
	doc         string
}

// argsOf reads the vfilter tags of an args type registered in tm.
func argsOf(t *testing.T, scope vfilter.Scope, tm *types.TypeMap, typeName string) []arg {
	desc, ok := tm.Get(scope, typeName)
	if !ok {
		t.Fatalf("args type %q not registered", typeName)
	}
	var out []arg
	for _, k := range desc.Fields.Keys() {
		v, _ := desc.Fields.Get(k)
		ref, _ := v.(*types.TypeReference)
		if ref == nil {
			t.Fatalf("%s.%s: no type reference", typeName, k)
		}
		a := arg{field: k}
		for _, part := range splitTag(ref.Tag) {
			switch {
			case part == "required":
				a.required = true
			case strings.HasPrefix(part, "field="):
				a.name = strings.TrimPrefix(part, "field=")
			case strings.HasPrefix(part, "doc="):
				a.doc = strings.TrimPrefix(part, "doc=")
			}
		}
		out = append(out, a)
	}
	return out
}

// splitTag splits a vfilter tag at the commas before "field=", "doc=" and
// the flags; a doc may hold commas of its own, so it runs to the end.
func splitTag(tag string) []string {
	var out []string
	for tag != "" {
		if strings.HasPrefix(tag, "doc=") {
			return append(out, tag)
		}
		i := strings.IndexByte(tag, ',')
		if i < 0 {
			return append(out, tag)
		}
		out = append(out, tag[:i])
		tag = tag[i+1:]
	}
	return out
}

func checkInfo(t *testing.T, kind, name string, version int, args []arg) {
	if !strings.HasPrefix(name, "azure_") {
		t.Errorf("%s %s: name without the azure_ prefix", kind, name)
	}
	if version < 1 {
		t.Errorf("%s %s: Version %d, want >= 1", kind, name, version)
	}
	if len(args) == 0 {
		t.Errorf("%s %s: no arguments described", kind, name)
	}
	for _, a := range args {
		if a.name == "" {
			t.Errorf("%s %s: argument %s has no field= name", kind, name, a.field)
		}
		if strings.TrimSpace(a.doc) == "" {
			t.Errorf("%s %s: argument %s has no doc=", kind, name, a.name)
		}
	}
}

func TestPluginAndFunctionInfo(t *testing.T) {
	scope := vfilter.NewScope()
	tm := types.NewTypeMap()
	seen := map[string]bool{}
	for _, p := range All() {
		info := p.Info(scope, tm)
		if seen[info.Name] {
			t.Errorf("plugin %s listed twice", info.Name)
		}
		seen[info.Name] = true
		checkInfo(t, "plugin", info.Name, info.Version, argsOf(t, scope, tm, info.ArgType))
		if strings.TrimSpace(info.Doc) == "" {
			t.Errorf("plugin %s: no Doc", info.Name)
		}
		if _, ok := p.(vqlkit.Declared); !ok {
			t.Errorf("plugin %s does not declare its columns (vqlkit.Declared)", info.Name)
		}
	}
	for _, f := range Functions() {
		info := f.Info(scope, tm)
		if seen[info.Name] {
			t.Errorf("function %s: name used twice", info.Name)
		}
		seen[info.Name] = true
		checkInfo(t, "function", info.Name, info.Version, argsOf(t, scope, tm, info.ArgType))
		if strings.TrimSpace(info.Doc) == "" {
			t.Errorf("function %s: no Doc", info.Name)
		}
	}
	if len(seen) < 11 {
		t.Errorf("only %d plugins and functions listed", len(seen))
	}
}

// fixtureTrees are the evidence trees of tests/fixtures.
func fixtureTrees(t *testing.T) []string {
	dirs, err := filepath.Glob("../tests/fixtures/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			abs, err := filepath.Abs(d)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, abs)
		}
	}
	if len(out) < 5 {
		t.Fatalf("fixture trees: %v", out)
	}
	return out
}

func filesIn(t *testing.T, tree string) []string {
	var out []string
	err := filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// usnSample is a $UsnJrnl:$J excerpt written by Windows.
const usnSample = "usnjrnl/testdata/go-ntfs-usn-sample.bin"

// ntfsAccessor registers the committed NTFS image of the Windows fixture
// (handler folders deleted) as an accessor, for the plugins that read a
// volume's MFT; the folder fixtures hold none.
func ntfsAccessor(t *testing.T) string {
	image, err := diskimage.Open(fixtures.NTFSImage(".."), diskimage.AutoPartition)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { image.Close() })
	evidence.Register("contract_ntfs", func(vfilter.Scope) (evidence.Accessor, error) { return image.Accessor(), nil })
	return "contract_ntfs"
}

// TestDeclaredColumns runs every plugin over every fixture tree (root=
// the tree; a plugin with a filename argument also once per file of the
// tree, damaged ones included, given both as an accessor path and as a
// path on the evidence system; a plugin with an accessor argument also
// on the NTFS image's volume) and checks that each row has exactly the
// declared columns, in order.
func TestDeclaredColumns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every plugin over every fixture")
	}
	scope := vfilter.NewScope()
	scope.SetLogger(log.New(io.Discard, "", 0))
	scope.AppendPlugins(builtins.ParseEvtxPlugin{}, builtins.ParseJournaldPlugin{}) // eventlog and azure_waagent_journal read through the host's parsers
	tm := types.NewTypeMap()
	trees := fixtureTrees(t)
	ntfsAcc := ntfsAccessor(t)
	for _, p := range All() {
		info := p.Info(scope, tm)
		d, ok := p.(vqlkit.Declared)
		if !ok {
			continue // reported by TestPluginAndFunctionInfo
		}
		want := strings.Join(d.Columns(), ",")
		var fileArg *arg
		hasRoot, hasAccessor := false, false
		for _, a := range argsOf(t, scope, tm, info.ArgType) {
			a := a
			switch a.name {
			case "filename", "filenames":
				fileArg = &a
			case "root":
				hasRoot = true
			case "accessor":
				hasAccessor = true
			}
		}
		if !hasRoot {
			t.Errorf("plugin %s: no root argument", info.Name)
			continue
		}
		rows := 0
		run := func(args *ordereddict.Dict) {
			for row := range p.Call(context.Background(), scope, args) {
				rows++
				dict, ok := row.(*ordereddict.Dict)
				if !ok {
					t.Fatalf("%s(%v): a row of type %T, want *ordereddict.Dict", info.Name, args, row)
				}
				if got := strings.Join(dict.Keys(), ","); got != want {
					t.Fatalf("%s(%v): columns\n %s\nwant the declared\n %s", info.Name, args, got, want)
				}
			}
		}
		for _, tree := range trees {
			if fileArg == nil || !fileArg.required {
				run(ordereddict.NewDict().Set("root", tree))
			}
			if fileArg != nil {
				// Some plugins take an accessor path, others a path on
				// the evidence system: each file is given both ways.
				for _, f := range filesIn(t, tree) {
					run(ordereddict.NewDict().Set("root", tree).Set(fileArg.name, f))
					run(ordereddict.NewDict().Set("root", tree).Set(fileArg.name, "/"+filepath.ToSlash(f[len(tree)+1:])))
				}
			}
		}
		if hasAccessor && fileArg == nil {
			run(ordereddict.NewDict().Set("root", `C:\`).Set("accessor", ntfsAcc))
		}
		if fileArg != nil && !fileArg.required {
			// A Windows-written USN journal excerpt: no fixture tree
			// holds one (ntfs-3g writes none).
			abs, err := filepath.Abs(usnSample)
			if err != nil {
				t.Fatal(err)
			}
			run(ordereddict.NewDict().Set(fileArg.name, abs))
		}
		if rows == 0 {
			t.Errorf("plugin %s: no row on any fixture: its columns are unchecked", info.Name)
		}
		t.Logf("%s: %d rows checked", info.Name, rows)
	}
}
