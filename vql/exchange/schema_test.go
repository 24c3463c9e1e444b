package exchange

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/azvql/azvql/vql/artifacts"
)

var update = flag.Bool("update", false, "rewrite schema.json and the golden editions")

func srcDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func embeddedRepo(t *testing.T) *artifacts.Repository {
	repo, errs := artifacts.NewStandardRepository(nil)
	if len(errs) > 0 {
		t.Fatalf("loading the embedded artifacts: %v", errs)
	}
	return repo
}

// TestSchemaUpToDate derives the schema from the native artifacts over
// the fixtures and compares it with the committed schema.json.
func TestSchemaUpToDate(t *testing.T) {
	repo := embeddedRepo(t)
	got, err := DeriveSchema(context.Background(), repo, filepath.Join(srcDir(t), "tests", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range HuntArtifacts(repo) {
		for _, s := range SourceNames(a) {
			if len(got[s]) == 0 {
				t.Logf("%s: no fixture gives it a row: its edition selects * and converts no times", s)
			}
		}
	}
	b := got.Marshal()
	if *update {
		if err := os.WriteFile("schema.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b, schemaJSON) {
		t.Fatalf("schema.json is stale: the native artifacts' columns changed; run go test ./vql/exchange -update and review the diff")
	}
}
