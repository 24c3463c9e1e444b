package adapter_test

// Run in the build workspace (make test-integration does):
//   cd tools/velociraptor && GOWORK=$PWD/../../build/go.work go test ./...

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/tools/velociraptor/adapter"
	_ "www.velocidex.com/golang/velociraptor/accessors/file"
	vql_subsystem "www.velocidex.com/golang/velociraptor/vql"
	"www.velocidex.com/golang/velociraptor/vql/acl_managers"
	"www.velocidex.com/golang/vfilter"
)

func scope() vfilter.Scope {
	return vql_subsystem.MakeScope().AppendVars(ordereddict.NewDict().
		Set(vql_subsystem.ACL_MANAGER_VAR, acl_managers.NullACLManager{}))
}

func TestFileAccessor(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "Packages", "Plugins")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(sub, "0.settings")
	if err := os.WriteFile(file, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2025, 3, 14, 9, 12, 3, 997702000, time.UTC)
	if err := os.Chtimes(file, mt, mt); err != nil {
		t.Fatal(err)
	}

	names := adapter.RegisterAll()
	if len(names) == 0 {
		t.Fatal("no accessor registered")
	}
	sc := scope()
	defer sc.Close()
	acc, err := evidence.Get(sc, "file")
	if err != nil {
		t.Fatal(err)
	}

	p := acc.Join(acc.Join(acc.Join(dir, "Packages"), "Plugins"), "0.settings")
	if p != file {
		t.Errorf("Join: %q, want %q", p, file)
	}

	fi, err := acc.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name != "0.settings" || fi.Size != 10 || fi.IsDir || !fi.Mtime.Equal(mt) {
		t.Errorf("Lstat: %+v (Mtime want %v, sub-second kept)", fi, mt)
	}

	list, err := acc.ReadDir(sub)
	if err != nil || len(list) != 1 || list[0].Path != file || list[0].Name != "0.settings" {
		t.Errorf("ReadDir: %+v, %v", list, err)
	}
	if _, err := acc.ReadDir(file); err == nil {
		t.Error("ReadDir of a file: want an error")
	}

	if _, err := acc.Lstat(filepath.Join(dir, "absent")); !evidence.IsNotExist(err) {
		t.Errorf("Lstat of an absent file: %v, want not-exist", err)
	}
	if _, err := acc.Open(filepath.Join(dir, "absent")); !evidence.IsNotExist(err) {
		t.Errorf("Open of an absent file: %v, want not-exist", err)
	}
	if _, err := acc.Open(sub); err == nil {
		t.Error("Open of a directory: want an error")
	}

	f, err := acc.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		t.Fatal("a seekable file must be an io.ReaderAt")
	}
	buf := make([]byte, 3)
	if n, err := ra.ReadAt(buf, 4); n != 3 || string(buf) != "456" || err != nil {
		t.Errorf("ReadAt: %d %q %v", n, buf, err)
	}
	all, err := io.ReadAll(f)
	if err != nil || string(all) != "0123456789" {
		t.Errorf("Read after ReadAt: %q %v (the stream position must not move)", all, err)
	}

	// A Root over the adapter: evidence paths, case-insensitive Windows lookup.
	root := evidence.NewRoot(acc, dir)
	e, err := root.Lstat(`C:\packages\PLUGINS\0.settings`)
	if err != nil || e.OSPath != `C:\packages\PLUGINS\0.settings` || e.Size != 10 {
		t.Errorf("Root.Lstat: %+v %v", e, err)
	}
}

func TestUnknownAccessor(t *testing.T) {
	sc := scope()
	defer sc.Close()
	if _, err := adapter.Factory("no_such_accessor")(sc); err == nil {
		t.Error("want an error for an accessor Velociraptor does not have")
	}
}
