package evtxwriter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/yaml/v2"
)

var update = flag.Bool("update", false, "rewrite tests/fixtures/evtx/<vm>/ (or the tree: a description names) from tools/evtxwriter/fixtures/*.yaml")

// fixtureLogs is one fixtures/<vm>.yaml: the event logs of one VM.
type fixtureLogs struct {
	// Tree, when set, is the fixture tree under tests/fixtures that gets
	// the logs (a C: drive with other evidence), instead of evtx/<vm>.
	Tree string `yaml:"tree"`
	Logs []struct {
		File   string  `yaml:"file"`
		Events []Event `yaml:"events"`
	} `yaml:"logs"`
}

// TestFixtures keeps the committed event log fixtures
// (tests/fixtures/evtx/<vm>/Windows/System32/winevt/Logs/) byte for byte
// what the writer makes of their descriptions; -update rewrites them.
func TestFixtures(t *testing.T) {
	specs, err := filepath.Glob(filepath.Join("fixtures", "*.yaml"))
	if err != nil || len(specs) < 4 {
		t.Fatalf("fixture descriptions: %v %v", specs, err)
	}
	for _, spec := range specs {
		vm := strings.TrimSuffix(filepath.Base(spec), ".yaml")
		data, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		var doc fixtureLogs
		if err := yaml.UnmarshalStrict(data, &doc); err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		for _, l := range doc.Logs {
			w := New()
			for _, e := range l.Events {
				r, err := e.Record()
				if err == nil {
					err = w.Add(r)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", spec, l.File, err)
				}
			}
			var buf bytes.Buffer
			if _, err := w.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			if got := parse(t, buf.Bytes()); len(got) != len(l.Events) {
				t.Errorf("%s %s: %d events read back, %d written", spec, l.File, len(got), len(l.Events))
			}
			tree := filepath.Join("evtx", vm)
			if doc.Tree != "" {
				tree = doc.Tree
			}
			path := filepath.Join("..", "..", "tests", "fixtures", tree, "Windows", "System32", "winevt", "Logs", l.File)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, buf.Bytes()) {
				t.Errorf("%s is not what %s makes (go test ./tools/evtxwriter -run TestFixtures -update)", path, spec)
			}
		}
	}
}
