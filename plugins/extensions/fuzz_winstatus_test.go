package extensions

import (
	"testing"
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
