package exchange

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/builtins"
	"github.com/azvql/azvql/vql/host"
)

func readZip(t *testing.T, data []byte) map[string][]byte {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	res := map[string][]byte{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		r.Close()
		res[f.Name] = b.Bytes()
	}
	return res
}

// TestContainer writes a collection folder as the collect command
// does (results, log.json, one upload with a Windows path) and checks
// the container's members and JSON shapes against what Velociraptor
// v0.75.2's import_collection reads.
func TestContainer(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "results"), 0o755); err != nil {
		t.Fatal(err)
	}
	rows := "{\"A\":1}\n{\"A\":2}\n{\"A\":3}\n"
	if err := os.WriteFile(filepath.Join(dir, "results", ResultFile("Linux.Azure.RunCommand/Executions")), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	logLine := `{"_ts":1,"client_time":1,"level":"INFO","message":"Starting collection of Linux.Azure.RunCommand/Executions"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "log.json"), []byte(logLine), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &RecordingUploader{Dir: &builtins.DirUploader{Dir: dir}}
	scope := host.NewScope(host.Options{})
	defer scope.Close()
	req := builtins.UploadRequest{Path: `C:\Packages\Plugins\x.settings`, Accessor: "auto", Size: 5}
	for i := 0; i < 2; i++ { // the second is deduplicated
		if _, err := rec.Upload(context.Background(), scope, req, strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
	}
	c := &Collection{
		SessionID: "F.ABCDEFGHIJKLM",
		Artifacts: []string{"Linux.Azure.RunCommand"},
		Params:    map[string][]*artifacts.Env{"Linux.Azure.RunCommand": {{Key: "Root", Value: "/mnt/x"}}},
		Requests: []*artifacts.Request{{Artifact: "Linux.Azure.RunCommand",
			Env:     []*artifacts.Env{{Key: "Root", Value: "/mnt/x"}},
			Queries: []*artifacts.Query{{VQL: "LET X = 1"}, {Name: "Linux.Azure.RunCommand/Executions", VQL: "SELECT * FROM X"}}}},
		Stats: []*QueryStat{{Artifact: "Linux.Azure.RunCommand", Start: time.Unix(10, 0), Duration: time.Second,
			Rows: map[string]int{"Linux.Azure.RunCommand/Executions": 3}, LogRows: 1}},
		Start:   time.Unix(10, 0),
		Uploads: rec.Uploads(),
		Host:    ordereddict.NewDict().Set("Hostname", "vm01").Set("HostID", "1234"),
	}
	var buf bytes.Buffer
	if err := WriteContainer(&buf, dir, c); err != nil {
		t.Fatal(err)
	}
	m := readZip(t, buf.Bytes())
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{
		"client_info.json", "collection_context.json", "log.json", "log.json.index", "requests.json",
		"results/Linux.Azure.RunCommand%2FExecutions.json", "results/Linux.Azure.RunCommand%2FExecutions.json.index",
		"uploads.json", "uploads.json.index", "uploads/auto/C%3A/Packages/Plugins/x.settings",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("members:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if string(m["results/Linux.Azure.RunCommand%2FExecutions.json"]) != rows {
		t.Errorf("results changed")
	}
	// The index: one uint64 per row, offset | 1<<40.
	idx := m["results/Linux.Azure.RunCommand%2FExecutions.json.index"]
	if len(idx) != 24 {
		t.Fatalf("index of %d bytes", len(idx))
	}
	for i, off := range []uint64{0, 8, 16} {
		if got := binary.LittleEndian.Uint64(idx[8*i:]); got != off|1<<40 {
			t.Errorf("index %d = %x", i, got)
		}
	}
	if string(m["uploads/auto/C%3A/Packages/Plugins/x.settings"]) != "hello" {
		t.Errorf("upload content")
	}

	var ctx map[string]interface{}
	if err := json.Unmarshal(m["collection_context.json"], &ctx); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]interface{}{
		"session_id": "F.ABCDEFGHIJKLM", "state": 2.0, "total_collected_rows": 3.0,
		"total_uploaded_files": 1.0, "total_uploaded_bytes": 5.0, "create_time": 10e9,
	} {
		if ctx[k] != v {
			t.Errorf("collection_context %s = %v, want %v", k, ctx[k], v)
		}
	}
	if got, _ := json.Marshal(ctx["artifacts_with_results"]); string(got) != `["Linux.Azure.RunCommand/Executions"]` {
		t.Errorf("artifacts_with_results %s", got)
	}
	if got, _ := json.Marshal(ctx["request"]); string(got) != `{"artifacts":["Linux.Azure.RunCommand"],"specs":[{"artifact":"Linux.Azure.RunCommand","parameters":{"env":[{"key":"Root","value":"/mnt/x"}]}}]}` {
		t.Errorf("request %s", got)
	}

	var up map[string]interface{}
	if err := json.Unmarshal(bytes.TrimSpace(m["uploads.json"]), &up); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(up["_Components"]); string(got) != `["uploads","auto","C:","Packages","Plugins","x.settings"]` {
		t.Errorf("_Components %s", got)
	}
	if up["vfs_path"] != `C:\Packages\Plugins\x.settings` || up["file_size"] != 5.0 || up["uploaded_size"] != 5.0 {
		t.Errorf("uploads.json %v", up)
	}
	for _, k := range []string{"Timestamp", "started", "Type"} {
		if _, ok := up[k]; !ok {
			t.Errorf("uploads.json lacks %s", k)
		}
	}

	var reqs struct {
		Items []struct {
			SessionID string `json:"session_id"`
			RequestID int    `json:"request_id"`
			Action    struct {
				Env   []map[string]string `json:"env"`
				Query []map[string]string `json:"Query"`
			} `json:"VQLClientAction"`
		} `json:"items"`
	}
	if err := json.Unmarshal(m["requests.json"], &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs.Items) != 1 || reqs.Items[0].SessionID != "F.ABCDEFGHIJKLM" || reqs.Items[0].RequestID != 1 ||
		len(reqs.Items[0].Action.Query) != 2 || reqs.Items[0].Action.Query[1]["Name"] != "Linux.Azure.RunCommand/Executions" ||
		reqs.Items[0].Action.Env[0]["key"] != "Root" {
		t.Errorf("requests.json %s", m["requests.json"])
	}
	if !strings.Contains(string(m["client_info.json"]), `"HostID": "1234"`) {
		t.Errorf("client_info.json %s", m["client_info.json"])
	}
	if !strings.HasPrefix(NewFlowID(), "F.") || len(NewFlowID()) != 15 {
		t.Errorf("flow id %s", NewFlowID())
	}
}
