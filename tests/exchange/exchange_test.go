// Package exchange tests the exchange pack (vql artifacts export), its
// verification against stock VQL, and the collection container (vql
// artifacts collect --output X.zip) through the vql command; with a
// stock Velociraptor (VELOCIRAPTOR or bin/velociraptor-stock) it runs
// run.sh, which collects every edition under Velociraptor and imports
// a container into a server.
package exchange

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	vqlPath   string
	buildErr  error
)

func srcDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func vql(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vql-exchange-test")
		if err != nil {
			buildErr = err
			return
		}
		vqlPath = filepath.Join(dir, "vql")
		if runtime.GOOS == "windows" {
			vqlPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", vqlPath, "./vql")
		cmd.Dir = srcDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building vql: %v", buildErr)
	}
	return vqlPath
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(vql(t), args...)
	cmd.Dir = srcDir()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func unzip(t *testing.T, path, dir string) map[string][]byte {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	res := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		res[f.Name] = data
		if dir != "" {
			target := filepath.Join(dir, filepath.FromSlash(f.Name))
			_ = os.MkdirAll(filepath.Dir(target), 0o755)
			if err := os.WriteFile(target, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return res
}

// TestExportPack: the pack holds an edition per hunt artifact, the
// README and tools.json, and passes verify --stock (and fails it when
// an edition calls an azure_* plugin).
func TestExportPack(t *testing.T) {
	tmp := t.TempDir()
	pack := filepath.Join(tmp, "pack.zip")
	if _, stderr, err := run(t, "artifacts", "export", "--output", pack); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	dir := filepath.Join(tmp, "pack")
	members := unzip(t, pack, dir)
	list, _, err := run(t, "artifacts", "list", "(Linux|Windows|Generic).Azure.*")
	if err != nil {
		t.Fatal(err)
	}
	var natives, want []string
	for _, n := range strings.Fields(list) {
		if n == "Generic.Azure.Utils" { // exports VQL for the others, no sources: no edition
			continue
		}
		natives = append(natives, n)
		want = append(want, "Exchange/"+strings.ReplaceAll(n, ".", "/")+".yaml")
	}
	want = append(want, "README.md", "tools.json")
	sort.Strings(want)
	var got []string
	for n := range members {
		got = append(got, n)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("members %v\nwant %v", got, want)
	}
	stdout, stderr, err := run(t, "--definitions", dir, "artifacts", "verify", "--stock")
	if err != nil || strings.Count(stdout, ": OK") != len(natives) {
		t.Fatalf("verify --stock: %v\n%s%s", err, stdout, stderr)
	}
	// The same check catches a non-stock plugin.
	bad := filepath.Join(dir, "Exchange", "Bad.yaml")
	_ = os.WriteFile(bad, []byte("name: Exchange.Bad\nsources:\n  - query: SELECT * FROM azure_run_executions()\n"), 0o644)
	_, stderr, err = run(t, "artifacts", "verify", "--stock", bad)
	if err == nil || !strings.Contains(stderr, "Unknown plugin azure_run_executions()") {
		t.Fatalf("verify --stock accepted a non-stock plugin: %v %s", err, stderr)
	}
}

// TestCollectZip: a collection written as a zip holds the same rows as
// the folder form, the upload, and the metadata import_collection reads.
func TestCollectZip(t *testing.T) {
	tmp := t.TempDir()
	src := srcDir()
	file := filepath.Join(src, "tests", "fixtures", "linux", "var", "lib", "waagent", "GoalState.1.xml")
	args := []string{"--definitions", filepath.Join(src, "tests", "exchange", "artifacts"), "artifacts", "collect",
		"Linux.Azure.RunCommand", "Test.Exchange.Upload",
		"--args", "Root=" + filepath.Join(src, "tests", "fixtures", "linux"), "--args", "File=" + file}
	zipPath := filepath.Join(tmp, "c.zip")
	if _, stderr, err := run(t, append(args, "--output", zipPath)...); err != nil {
		t.Fatalf("collect zip: %v\n%s", err, stderr)
	}
	dir := filepath.Join(tmp, "dir")
	if _, stderr, err := run(t, append(args, "--output", dir)...); err != nil {
		t.Fatalf("collect dir: %v\n%s", err, stderr)
	}
	m := unzip(t, zipPath, "")
	for _, need := range []string{"collection_context.json", "requests.json", "client_info.json", "log.json",
		"log.json.index", "uploads.json", "uploads.json.index"} {
		if _, ok := m[need]; !ok {
			t.Errorf("no %s", need)
		}
	}
	results, _ := filepath.Glob(filepath.Join(dir, "results", "*.json"))
	if len(results) < 2 {
		t.Fatalf("results %v", results)
	}
	for _, r := range results {
		want, _ := os.ReadFile(r)
		name := "results/" + filepath.Base(r)
		if !bytes.Equal(m[name], want) {
			t.Errorf("%s differs from the folder collection", name)
		}
		if len(m[name+".index"]) != 8*bytes.Count(want, []byte("\n")) {
			t.Errorf("%s.index has %d bytes for %d rows", name, len(m[name+".index"]), bytes.Count(want, []byte("\n")))
		}
	}
	var ctx struct {
		SessionID string   `json:"session_id"`
		State     int      `json:"state"`
		Results   []string `json:"artifacts_with_results"`
		Rows      int      `json:"total_collected_rows"`
		Files     int      `json:"total_uploaded_files"`
		Request   struct {
			Artifacts []string `json:"artifacts"`
		} `json:"request"`
	}
	if err := json.Unmarshal(m["collection_context.json"], &ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ctx.SessionID, "F.") || ctx.State != 2 || ctx.Files != 1 ||
		len(ctx.Request.Artifacts) != 2 || len(ctx.Results) != len(results) {
		t.Errorf("collection_context.json: %s", m["collection_context.json"])
	}
	comp := strings.Split(strings.Trim(filepath.ToSlash(file), "/"), "/")
	content, _ := os.ReadFile(file)
	if got := m["uploads/auto/"+strings.Join(comp, "/")]; !bytes.Equal(got, content) {
		t.Errorf("upload member missing or different")
	}
	var up struct {
		Components []string `json:"_Components"`
		Size       int      `json:"file_size"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(m["uploads.json"]), &up); err != nil {
		t.Fatal(err)
	}
	if strings.Join(up.Components, "/") != "uploads/auto/"+strings.Join(comp, "/") || up.Size != len(content) {
		t.Errorf("uploads.json %s", m["uploads.json"])
	}
	// An existing zip is not overwritten.
	if _, _, err := run(t, append(args, "--output", zipPath)...); err == nil {
		t.Errorf("collect overwrote an existing zip")
	}
}

// TestStockVelociraptor runs run.sh under a stock Velociraptor binary:
// VELOCIRAPTOR, else bin/velociraptor-stock; skipped without one.
func TestStockVelociraptor(t *testing.T) {
	vr := os.Getenv("VELOCIRAPTOR")
	if vr == "" {
		vr = filepath.Join(srcDir(), "bin", "velociraptor-stock")
	}
	if st, err := os.Stat(vr); err != nil || st.IsDir() {
		t.Skipf("no stock Velociraptor at %s: set VELOCIRAPTOR=/path/to/velociraptor-v0.75.2 (or build bin/velociraptor-stock) to run tests/exchange/run.sh", vr)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("run.sh needs python3")
	}
	cmd := exec.Command("bash", filepath.Join(srcDir(), "tests", "exchange", "run.sh"))
	cmd.Env = append(os.Environ(), "VELOCIRAPTOR="+vr)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("run.sh: %v", err)
	}
}
