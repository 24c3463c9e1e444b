package extensions

import (
	"context"
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// FuzzAggregateStatus: status-blob snapshots (aggregatestatus*.json,
// waagent_status.json) never panic, and every entry keeps its handler.
func FuzzAggregateStatus(f *testing.F) {
	f.Add([]byte(aggSnapshot))
	f.Add(utf16le(aggSnapshot, true))
	f.Add([]byte(`{"aggregateStatus": {"handlerAggregateStatus": [{"handlerName": "x", "runtimeSettingsStatus": [1, {"settingsStatus": []}]}]}}`))
	f.Add([]byte(`[{"aggregateStatus": {"guestAgentStatus": 3}}]`))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, _ := ParseAggregateStatus(b)
		if a == nil {
			t.Fatal("nil aggregate")
		}
		for _, h := range a.Handlers {
			if h.Settings != nil {
				_ = h.Settings.InProgress()
			}
		}
	})
}

// FuzzStatusWindows: the Windows status dialects (string versions, 7-digit
// fractions, StdOut/StdErr substatus, UTF-16, objects instead of arrays,
// instance-view messages) never panic.
func FuzzStatusWindows(f *testing.F) {
	f.Add([]byte(winStatus("2024-05-03T10:00:05.1234567Z", "success", "nt authority\\system\n", "")))
	f.Add(utf16le(winStatus("2024-05-03T10:00:05Z", "error", "", "At C:\\Packages\\Plugins\\x\\Downloads\\script0.ps1:16 char:28"), true))
	f.Add([]byte(rc2Status("Demo", "2024-05-03T13:00:09Z", "success", `{"executionState":"Succeeded","exitCode":"0","startTime":"x"}`)))
	f.Add([]byte(`{"status": {"substatus": [{"name": "StdOut"}, null, 3, {"formattedMessage": {"message": 5}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := ParseStatus(b)
		if s == nil {
			t.Fatal("nil status")
		}
		_ = StatusRow(fileMeta{OSPath: `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\Status\0.status`}, s, nil, true)
	})
}

// FuzzExecutionsJoinKinds fuzzes the join for the multi-config and
// Windows kinds: RC v2 names and sequences (settings, status, download,
// runAs copy, stray root placeholder, mrseq), a Windows RC v1 flat
// Downloads folder and a Windows CSE working folder. Rows must serialise
// and stay bounded by the sequences planted.
func FuzzExecutionsJoinKinds(f *testing.F) {
	f.Add("Demo", "0", []byte(settingsJSON(`{"source": {"script": "id"}, "runAsUser": "eve"}`, true)),
		[]byte(rc2Status("Demo", "2024-05-02T10:20:31Z", "success", `{"executionState":"Succeeded","exitCode":0}`)),
		[]byte("0"), []byte(rootPlaceholder), []byte(winStatus("2024-05-03T10:00:05Z", "success", "x", "")), "out.txt")
	f.Add("a.b", "7", []byte(""), []byte("["), []byte("x"), []byte("{"), []byte{0xff, 0xfe, 0}, "sub/dir/f")
	f.Fuzz(func(t *testing.T, name, seq string, settings, status, mrseq, root, winStatusDoc []byte, extra string) {
		for _, s := range []string{name, seq} {
			if s == "" || strings.ContainsAny(s, "/\\\x00") || len(s) > 40 || s == "." || s == ".." {
				return
			}
		}
		if len(extra) > 80 || strings.Contains(extra, "..") || strings.HasPrefix(extra, "/") || strings.Contains(extra, "\\") {
			return
		}
		h := "/e/var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.17/"
		w1 := "/e/Packages/Plugins/Microsoft.CPlat.Core.RunCommandWindows/1.1.22/"
		wc := "/e/Packages/Plugins/Microsoft.Compute.CustomScriptExtension/1.10.18/"
		files := map[string][]byte{
			h + "config/" + name + "." + seq + ".settings":                                         settings,
			h + "status/" + name + "." + seq + ".status":                                           status,
			h + name + ".mrseq":                                                                    mrseq,
			"/e/var/lib/waagent/run-command-handler/download/" + name + "/" + seq + "/script.sh":   settings,
			"/e/home/eve/waagent/run-command-handler-runas/download/" + name + "/" + seq + "/x.sh": mrseq,
			"/e/" + name + "." + seq + ".status":                                                   root,
			w1 + "RuntimeSettings/" + seq + ".settings":                                            settings,
			w1 + "Status/" + seq + ".status":                                                       winStatusDoc,
			w1 + "Downloads/script" + seq + ".ps1":                                                 status,
			wc + "RuntimeSettings/" + seq + ".settings":                                            settings,
			wc + "Downloads/" + seq + "/a.ps1":                                                     root,
		}
		if extra != "" {
			files[path.Clean(w1+"Downloads/"+extra)] = mrseq
			files[path.Clean(wc+"Downloads/"+seq+"/"+extra)] = mrseq
		}
		r := evidence.NewRoot(memFS{files: files}, "/e")
		n := 0
		WalkExecutions(context.Background(), r, true, func(string, ...any) {}, func(row *ordereddict.Dict) bool {
			n++
			if _, err := json.Marshal(row); err != nil {
				t.Fatalf("row does not serialise: %v", err)
			}
			return true
		})
		if n > 8 {
			t.Fatalf("%d rows from a tree with at most 8 runs", n)
		}
	})
}
