package exchange

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
)

func editions(t *testing.T, opts Options) (*artifacts.Repository, Schema, []*Edition) {
	repo := embeddedRepo(t)
	schema, err := EmbeddedSchema()
	if err != nil {
		t.Fatal(err)
	}
	eds, err := GenerateAll(repo, schema, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(eds) == 0 {
		t.Fatal("no editions")
	}
	return repo, schema, eds
}

// standInTools are the tools pinned (PinTools) to stand-in files
// holding their own binary name.
func standInTools(t *testing.T) []Tool {
	dir := t.TempDir()
	for _, tl := range Tools("") {
		if err := os.WriteFile(filepath.Join(dir, tl.Binary), []byte(tl.Binary+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tools, err := PinTools(Tools(""), dir)
	if err != nil {
		t.Fatal(err)
	}
	return tools
}

// TestPinTools: each tool gets its file's SHA-256; a missing binary
// is an error naming it.
func TestPinTools(t *testing.T) {
	tools := standInTools(t)
	// sha256("vql-linux-amd64\n"), as sha256sum prints it.
	if tools[0].Name != "Azvql_linux_amd64" || tools[0].Hash != "115a0a10b26c0d4f76f1495edd87414530291096d546961fb59b70c6546ef7f4" {
		t.Errorf("pinned %+v", tools[0])
	}
	// Pinned with a url: the endpoints download it themselves (a pinned
	// tool is never downloaded by the server, so not serve_locally).
	withURL := standInTools(t)
	for i := range withURL {
		withURL[i].URL = "https://example.com/azvql/" + withURL[i].Binary
	}
	_, _, eds := editions(t, Options{Tools: withURL})
	for _, e := range eds {
		if e.Native != "Windows.Azure.RunCommand" {
			continue
		}
		want := "tools:\n  - name: Azvql_windows_amd64\n    url: \"https://example.com/azvql/vql-windows-amd64.exe\"\n" +
			"    filename: \"vql-windows-amd64.exe\"\n    hash: " + withURL[2].Hash + "\n\nparameters:"
		if !strings.Contains(e.YAML, want) {
			t.Errorf("pinned tool with a url:\n%s", e.YAML[strings.Index(e.YAML, "tools:"):strings.Index(e.YAML, "parameters:")])
		}
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "vql-linux-amd64"), []byte("x"), 0o644)
	_, err := PinTools(Tools(""), dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "vql-windows-amd64.exe")) ||
		strings.Contains(err.Error(), filepath.Join(dir, "vql-linux-amd64")+",") {
		t.Errorf("missing binaries: %v", err)
	}
}

// TestGoldenRunCommand compares the edition of Linux.Azure.RunCommand
// with testdata/Exchange.Linux.Azure.RunCommand.yaml (reviewed by
// hand; -update rewrites it).
func TestGoldenRunCommand(t *testing.T) {
	_, _, eds := editions(t, Options{Tools: standInTools(t)})
	var got string
	for _, e := range eds {
		if e.Name == "Exchange.Linux.Azure.RunCommand" {
			got = e.YAML
			if e.Path != "Exchange/Linux/Azure/RunCommand.yaml" || e.Native != "Linux.Azure.RunCommand" {
				t.Errorf("path %s native %s", e.Path, e.Native)
			}
		}
	}
	golden := filepath.Join("testdata", "Exchange.Linux.Azure.RunCommand.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("the edition of Linux.Azure.RunCommand differs from %s: run go test ./vql/exchange -update and review the diff", golden)
	}
}

// TestEditionsShape: every edition has the native sources one to one,
// the native parameters plus VqlBinary, its OS's tools (all three for
// Generic.*), and only
// stock VQL (verified as `vql artifacts verify --stock` does).
func TestEditionsShape(t *testing.T) {
	repo, schema, eds := editions(t, Options{ToolsURL: "https://example.com/azvql/"})
	api, err := StockAPI()
	if err != nil {
		t.Fatal(err)
	}
	base, err := StockRepository()
	if err != nil {
		t.Fatal(err)
	}
	var defs []artifacts.Definition
	for _, e := range eds {
		defs = append(defs, artifacts.Definition{Path: e.Path, Data: []byte(e.YAML)})
	}
	for _, r := range artifacts.VerifyDefinitions(base, api, defs) {
		for _, err := range r.Errors {
			t.Errorf("%s: %v", r.Path, err)
		}
	}

	for _, e := range eds {
		ed, err := artifacts.ParseYaml(e.YAML)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		native, _ := repo.Get(e.Native)
		if len(ed.Sources) != len(native.Sources) {
			t.Errorf("%s: %d sources, native %d", e.Name, len(ed.Sources), len(native.Sources))
		}
		for i, s := range native.Sources {
			if i < len(ed.Sources) && ed.Sources[i].Name != s.Name {
				t.Errorf("%s: source %d is %s, native %s", e.Name, i, ed.Sources[i].Name, s.Name)
			}
			full := artifacts.SourceFullName(native.Name, s.Name)
			if !strings.Contains(ed.Sources[i].Query, "'"+ResultFile(full)+"'") {
				t.Errorf("%s: source %s does not read %s", e.Name, s.Name, ResultFile(full))
			}
			for _, c := range schema[full] {
				if c.Type == "timestamp" && !strings.Contains(ed.Sources[i].Query, "timestamp(string="+c.Name+")") {
					t.Errorf("%s/%s: time column %s not converted", e.Name, s.Name, c.Name)
				}
			}
		}
		if len(ed.Parameters) != len(native.Parameters)+1 || ed.Parameters[len(ed.Parameters)-1].Name != VqlBinaryParameter {
			t.Errorf("%s: parameters are not the native ones plus VqlBinary", e.Name)
		}
		var tools []string
		for _, tl := range ed.Tools {
			tools = append(tools, tl.Name+" "+tl.Url)
		}
		sort.Strings(tools)
		// Only the tools of the edition's OS: a Linux-only hunt needs
		// only the Linux tools on the server.
		linux := "Azvql_linux_amd64 https://example.com/azvql/vql-linux-amd64," +
			"Azvql_linux_arm64 https://example.com/azvql/vql-linux-arm64"
		windows := "Azvql_windows_amd64 https://example.com/azvql/vql-windows-amd64.exe"
		want := linux + "," + windows
		switch {
		case strings.HasPrefix(e.Native, "Linux."):
			want = linux
		case strings.HasPrefix(e.Native, "Windows."):
			want = windows
		}
		if strings.Join(tools, ",") != want {
			t.Errorf("%s: tools %v", e.Name, tools)
		}
		if !strings.Contains(ed.Export, "'collect', '"+e.Native+"'") &&
			!strings.Contains(ed.Export, "'collect',\n           '"+e.Native+"'") {
			t.Errorf("%s: does not collect %s", e.Name, e.Native)
		}
	}
}

// TestStockAPIRejects: the stock list knows execve and parse_jsonl
// but not the azure_* plugins.
func TestStockAPIRejects(t *testing.T) {
	api, err := StockAPI()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := StockRepository()
	bad := `name: Exchange.Test.Bad
sources:
  - query: |
      SELECT * FROM azure_run_executions(root='/')
  - name: B
    query: |
      SELECT * FROM execve(argv=['x'], nosuch=1)
  - name: C
    query: |
      SELECT * FROM Artifact.Generic.Utils.FetchBinary(ToolName='x', Bogus=1)
`
	r := artifacts.VerifyDefinitions(base, api, []artifacts.Definition{{Path: "bad.yaml", Data: []byte(bad)}})
	var msgs []string
	for _, err := range r[0].Errors {
		msgs = append(msgs, err.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"Unknown plugin azure_run_executions()", "Invalid arg nosuch for plugin execve()",
		"contains unknown parameter Bogus"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
}

// TestPackMembers: the zip holds every edition, the README (which names
// each) and tools.json.
func TestPackMembers(t *testing.T) {
	repo, schema, eds := editions(t, Options{})
	var buf bytes.Buffer
	if err := WritePack(&buf, HuntArtifacts(repo), eds, schema, Tools(""), time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]string{}
	for _, f := range z.File {
		r, _ := f.Open()
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		r.Close()
		members[f.Name] = b.String()
	}
	if len(members) != len(eds)+2 {
		t.Errorf("%d members, want %d", len(members), len(eds)+2)
	}
	for _, e := range eds {
		if members[e.Path] != e.YAML {
			t.Errorf("member %s missing or different", e.Path)
		}
		if !strings.Contains(members[PackREADME], "### "+e.Name+"\n") {
			t.Errorf("README does not describe %s", e.Name)
		}
	}
	for _, want := range []string{"`VqlBinary`", "`Executions` | OS, Kind,", "Started (timestamp)", "| `Azvql_windows_amd64` | windows / amd64 | `vql-windows-amd64.exe` |"} {
		if !strings.Contains(members[PackREADME], want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if !strings.Contains(members[PackTools], `"name": "Azvql_linux_arm64"`) {
		t.Errorf("tools.json: %s", members[PackTools])
	}
}

// TestEscapeRow: strings ordereddict's decoder would turn into times,
// and strings starting with the marker, get one marker; nothing else.
func TestEscapeRow(t *testing.T) {
	row := ordereddict.NewDict().
		Set("Raw", "2025-06-10T14:06:31.5900000Z").
		Set("Offset", "2025-06-10T14:06:31+00:00").
		Set("Tilde", "~x").
		Set("Plain", "hello").
		Set("Short", "2025-06-10").
		Set("Time", time.Unix(0, 0)).
		Set("Int", 3)
	detail := ordereddict.NewDict().Set("TimestampRaw", "2025-06-10T14:06:31.5900000Z").Set("N", 1).
		Set("Deeper", ordereddict.NewDict().Set("T", "2025-06-10T14:06:31.5900000Z"))
	row.Set("Detail", detail)
	EscapeRow(row)
	got, _ := json.Marshal(row)
	want := `{"Raw":"~2025-06-10T14:06:31.5900000Z","Offset":"~2025-06-10T14:06:31+00:00","Tilde":"~~x","Plain":"hello","Short":"2025-06-10","Time":"1970-01-01T00:00:00Z","Int":3,` +
		`"Detail":{"TimestampRaw":"~2025-06-10T14:06:31.5900000Z","N":1,"Deeper":{"T":"2025-06-10T14:06:31.5900000Z"}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The dict is copied, never changed: it may be shared with other rows.
	if v, _ := detail.Get("TimestampRaw"); v != "2025-06-10T14:06:31.5900000Z" {
		t.Errorf("EscapeRow changed the shared dict: %v", v)
	}
}
