package extensions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"www.velocidex.com/golang/vfilter"
)

const rc1 = "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5"

// tfile is one file of a generated evidence tree.
type tfile struct {
	path    string // relative, forward slashes
	content string
	mtime   string // RFC3339; "" = leave
	link    string // symlink target instead of content
}

func writeTree(t testing.TB, root string, files []tfile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.link != "" {
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if strings.HasSuffix(f.path, "/") {
			continue
		}
		if err := os.WriteFile(p, []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if f.mtime != "" {
			mt, err := time.Parse(time.RFC3339, f.mtime)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mt, mt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func settingsJSON(public string, protected bool) string {
	prot, thumb := "null", "null"
	if protected {
		prot, thumb = `"MIIB8AYJKoZIhvcNAQcDoIIB4TCCAd0CAQAxggFpMIIBZQIBADBNMDkxNzA1BgoJkiaJk/IsZAEZFidXaW5kb3dzIEF6dXJlIENSUCBDZXJ0aWZpY2F0ZSBHZW5lcmF0b3ICEH"`, `"010F03CA0562E782EF60F02376591592CF2101F4"`
	}
	return fmt.Sprintf(`{"runtimeSettings": [{"handlerSettings": {"publicSettings": %s, "protectedSettings": %s, "protectedSettingsCertThumbprint": %s}}]}`, public, prot, thumb)
}

func goStatus(ts, state, msg string) string {
	b, _ := json.Marshal(msg)
	return "[\n\t{\n\t\t\"version\": 1,\n\t\t\"timestampUTC\": \"" + ts + "\",\n\t\t\"status\": {\n\t\t\t\"operation\": \"Enable\",\n\t\t\t\"status\": \"" + state +
		"\",\n\t\t\t\"formattedMessage\": {\n\t\t\t\t\"lang\": \"en\",\n\t\t\t\t\"message\": " + string(b) + "\n\t\t\t}\n\t\t}\n\t}\n]"
}

const sasURL = "https://stacct.blob.core.windows.net/scripts/payload.sh?sv=2021-08-06&se=2024-05-03T10%3A00%3A00Z&sr=b&sp=r&sig=Qm9ndXNTaWduYXR1cmU%3D"

// scenarioTree is a Linux RC v1 tree with the four fixture scenarios plus
// bad inputs.
func scenarioTree(t testing.TB) string {
	root := t.TempDir()
	dl := "var/lib/waagent/run-command/download/"
	writeTree(t, root, []tfile{
		{path: rc1 + "/HandlerManifest.json", content: `[{"version": 1.0, "handlerManifest": {"installCommand": "bin/run-command-shim install", "enableCommand": "bin/run-command-shim enable", "reportHeartbeat": false}}]`},
		{path: rc1 + "/HandlerEnvironment.json", content: `[{"name": "Microsoft.CPlat.Core.RunCommandLinux", "version": 1.0, "handlerEnvironment": {"logFolder": "/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux", "configFolder": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config", "statusFolder": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status"}}]`},
		{path: rc1 + "/config/HandlerState", content: "Enabled"},
		{path: rc1 + "/config/HandlerStatus", content: `{"name": "Microsoft.CPlat.Core.RunCommandLinux", "version": "1.0.5", "status": "Ready", "code": 0, "message": "Plugin enabled", "supports_multi_config": false, "extension_status": null}`},
		{path: rc1 + "/mrseq", content: "3"},
		{path: rc1 + "/pidstart", content: "4242\tThu May  2 10:40:01 2024\n"},
		// seq 0: protected script, command only in script.sh
		{path: rc1 + "/config/0.settings", content: settingsJSON("{}", true), mtime: "2024-05-02T10:00:00Z"},
		{path: rc1 + "/status/0.status", content: goStatus("2024-05-02T10:00:05Z", "success", "Enable succeeded: \n[stdout]\nuid=0(root)\n\n[stderr]\n"), mtime: "2024-05-02T10:00:05Z"},
		{path: dl + "0/script.sh", content: "#!/bin/sh\nid\n", mtime: "2024-05-02T10:00:02Z"},
		{path: dl + "0/stdout", content: "uid=0(root)\n", mtime: "2024-05-02T10:00:04Z"},
		{path: dl + "0/stderr", content: "", mtime: "2024-05-02T10:00:04Z"},
		// seq 1: public command + SAS fileUris, exit 1 (RC v1 still reports success)
		{path: rc1 + "/config/1.settings", content: settingsJSON(`{"fileUris": ["`+sasURL+`"], "commandToExecute": "sh payload.sh; exit 1"}`, false), mtime: "2024-05-02T10:10:00Z"},
		{path: rc1 + "/status/1.status", content: goStatus("2024-05-02T10:10:09Z", "success", "Enable succeeded: \n[stdout]\npayload ran\n\n[stderr]\nwarning: x\n"), mtime: "2024-05-02T10:10:09Z"},
		{path: dl + "1/payload.sh", content: "echo payload ran\n", mtime: "2024-05-02T10:10:03Z"},
		{path: dl + "1/stdout", content: "payload ran\n", mtime: "2024-05-02T10:10:08Z"},
		{path: dl + "1/stderr", content: "warning: x\n", mtime: "2024-05-02T10:10:08Z"},
		// seq 2: script deleted itself, dropped a file and a folder, a symlink
		{path: rc1 + "/config/2.settings", content: settingsJSON("{}", true), mtime: "2024-05-02T10:20:00Z"},
		{path: rc1 + "/status/2.status", content: goStatus("2024-05-02T10:20:07Z", "success", "Enable succeeded: \n[stdout]\n\n[stderr]\n"), mtime: "2024-05-02T10:20:07Z"},
		{path: dl + "2/stdout", content: "", mtime: "2024-05-02T10:20:06Z"},
		{path: dl + "2/stderr", content: "", mtime: "2024-05-02T10:20:06Z"},
		{path: dl + "2/.cache", content: "dropped", mtime: "2024-05-02T10:20:05Z"},
		{path: dl + "2/sub/inner.bin", content: "abc", mtime: "2024-05-02T10:20:05Z"},
		{path: dl + "2/passwd", link: "/etc/passwd"},
		{path: dl + "2/loop", link: "."},
		// seq 3: still running
		{path: rc1 + "/config/3.settings", content: settingsJSON(`{"script": "`+base64.StdEncoding.EncodeToString([]byte("sleep 3600\n"))+`"}`, false), mtime: "2024-05-02T10:40:00Z"},
		{path: rc1 + "/status/3.status", content: statusShimPlaceholder[:0] + strings.ReplaceAll(statusShimPlaceholder, "2024-05-02T10:11:12+00:00", "2024-05-02T10:40:01+00:00"), mtime: "2024-05-02T10:40:01Z"},
		{path: dl + "3/script.sh", content: "sleep 3600\n", mtime: "2024-05-02T10:40:01Z"},
		{path: dl + "3/stdout", content: "", mtime: "2024-05-02T10:40:01Z"},
		// seq 4: garbage settings, nothing else
		{path: rc1 + "/config/4.settings", content: `{"runtimeSettings": [{"handlerSettings": {"publicSett`, mtime: "2024-05-02T11:00:00Z"},
		// seq 5: only the download folder
		{path: dl + "5/stdout", content: "orphan\n", mtime: "2024-05-02T11:10:00Z"},
		// seq 6: 0-byte settings (truncated by a cleanup), status
		{path: rc1 + "/config/6.settings", content: "", mtime: "2024-05-02T11:20:00Z"},
		{path: rc1 + "/status/6.status", content: statusCSEError, mtime: "2024-05-02T11:20:05Z"},
		// not handler folders
		{path: "var/lib/waagent/WALinuxAgent-2.13.1.1/HandlerManifest.json", content: "[]"},
		{path: "var/lib/waagent/history/2024-05-02T10-11-09__5/GoalState.xml", content: "<x/>"},
		{path: "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux__1.0.5.zip", content: "PK"},
	})
	return root
}

// failOpen is a test accessor: the OS, but Open fails for paths ending
// in one of the suffixes (root cannot be stopped by chmod).
type failOpen struct {
	evidence.OSAccessor
	suffixes []string
}

func (f failOpen) Open(p string) (evidence.File, error) {
	for _, s := range f.suffixes {
		if strings.HasSuffix(filepath.ToSlash(p), s) {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
	}
	return f.OSAccessor.Open(p)
}

// OpenBeneath is what Root.Open uses on the OS accessor: fail it too.
func (f failOpen) OpenBeneath(base string, rel []string) (evidence.File, error) {
	p := filepath.Join(append([]string{base}, rel...)...)
	for _, s := range f.suffixes {
		if strings.HasSuffix(filepath.ToSlash(p), s) {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
	}
	if bo, ok := any(f.OSAccessor).(evidence.BeneathOpener); ok {
		return bo.OpenBeneath(base, rel)
	}
	return f.OSAccessor.Open(p) // no confining opener on this OS
}

var registerOnce sync.Once

func init() {
	registerOnce.Do(func() {
		evidence.Register("test_failopen", func(vfilter.Scope) (evidence.Accessor, error) {
			return failOpen{suffixes: []string{"/config/1.settings", "/status/2.status", "download/0/stdout"}}, nil
		})
	})
}

// logBuf collects the query log.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runVQL runs a query with this package's plugins and returns the rows
// as JSON-decoded maps (times as RFC3339 strings) and the log.
func runVQL(t testing.TB, query string, vars map[string]any) ([]map[string]any, string) {
	t.Helper()
	env := ordereddict.NewDict()
	for k, v := range vars {
		env.Set(k, v)
	}
	lb := &logBuf{}
	scope := vfilter.NewScope().AppendVars(env)
	scope.AppendPlugins(Plugins()...)
	scope.SetLogger(log.New(lb, "", 0))
	defer scope.Close()
	vql, err := vfilter.Parse(query)
	if err != nil {
		t.Fatalf("parse %q: %v", query, err)
	}
	var rows []map[string]any
	for row := range vql.Eval(context.Background(), scope) {
		b, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, m)
	}
	return rows, lb.String()
}

func num(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	return v
}

// check compares selected columns.
func check(t *testing.T, what string, row map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		got, ok := row[k]
		if !ok {
			t.Errorf("%s: no column %s", what, k)
			continue
		}
		got = num(got)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got, w)
		}
	}
}

func keysInOrder(t *testing.T, query string, vars map[string]any, want []string) {
	t.Helper()
	env := ordereddict.NewDict()
	for k, v := range vars {
		env.Set(k, v)
	}
	scope := vfilter.NewScope().AppendVars(env)
	scope.AppendPlugins(Plugins()...)
	defer scope.Close()
	vql, _ := vfilter.Parse(query)
	for row := range vql.Eval(context.Background(), scope) {
		got := scope.GetMembers(row)
		if len(got) < len(want) || strings.Join(got[:len(want)], ",") != strings.Join(want, ",") {
			t.Errorf("columns:\n got  %v\n want %v", got, want)
		}
		return
	}
	t.Errorf("no rows for %s", query)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
