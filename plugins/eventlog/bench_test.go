package eventlog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/eventlog"
	"github.com/azvql/azvql/tools/evtxwriter"
	"github.com/azvql/azvql/vql/builtins"
	"www.velocidex.com/golang/vfilter"
)

const benchProcs = 20000

// benchRoot writes a C: tree whose Security.evtx holds benchProcs 4688s:
// every tenth a powershell started by the Run Command v1 handler, the
// others its children (half) or unrelated processes.
func benchRoot(b *testing.B) string {
	dir := b.TempDir()
	logs := filepath.Join(dir, "Windows", "System32", "winevt", "Logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		b.Fatal(err)
	}
	var rc *catalog.Handler
	for i := range catalog.Handlers {
		if catalog.Handlers[i].OS == catalog.Windows && catalog.Handlers[i].Kind == catalog.KindRunCommand {
			rc = &catalog.Handlers[i]
		}
	}
	handlerExe := catalog.WindowsPluginsDir + `\` + rc.Name + `\1.1.22\bin\` + rc.Processes[0]
	w := evtxwriter.New()
	start := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	lastPS := 0
	for i := 0; i < benchProcs; i++ {
		image, parent, ppid := `C:\Windows\System32\svchost.exe`, `C:\Windows\System32\services.exe`, 700
		switch {
		case i%10 == 0:
			image, parent, ppid, lastPS = `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, handlerExe, 8000, 4000+i
		case i%2 == 1:
			image, parent, ppid = `C:\Windows\System32\whoami.exe`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, lastPS
		}
		e := evtxwriter.Event{
			Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing",
			ProviderGUID: "54849625-5478-4994-A5BA-3E3B0328C30D", EventID: 4688, Version: 2,
			Task: 13312, Keywords: "0x8020000000000000", RecordID: uint64(i + 1),
			Time: start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), ProcessID: 4, ThreadID: 116,
			Computer: "vm-win-01",
			Data: []evtxwriter.Data{
				{Name: "SubjectUserName", Value: "VM-WIN-01$"},
				{Name: "SubjectDomainName", Value: "WORKGROUP"},
				{Name: "NewProcessId", Type: "hex64", Value: fmt.Sprintf("0x%x", 4000+i)},
				{Name: "NewProcessName", Value: image},
				{Name: "ProcessId", Type: "hex64", Value: fmt.Sprintf("0x%x", ppid)},
				{Name: "CommandLine", Value: fmt.Sprintf("%s -File script%d.ps1", filepath.Base(image), i)},
				{Name: "ParentProcessName", Value: parent},
			},
		}
		r, err := e.Record()
		if err == nil {
			err = w.Add(r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(logs, "Security.evtx"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchRows runs plugin over the benchmark's tree b.N times (parse_evtx
// through the scope) and returns the rows of the last run.
func benchRows(b *testing.B, plugin vfilter.PluginGeneratorInterface) int {
	root := benchRoot(b)
	scope := vfilter.NewScope()
	scope.AppendPlugins(builtins.ParseEvtxPlugin{})
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		rows = 0
		for range plugin.Call(context.Background(), scope, ordereddict.NewDict().Set("root", root)) {
			rows++
		}
	}
	return rows
}

// BenchmarkHandlerProcesses: azure_handler_processes over a Security.evtx
// of 20,000 4688s (parse_evtx through the scope, the tree, the rows).
func BenchmarkHandlerProcesses(b *testing.B) {
	rows := benchRows(b, eventlog.ProcessesPlugin{})
	if rows != benchProcs/10+benchProcs/2 {
		b.Fatalf("%d rows, want %d", rows, benchProcs/10+benchProcs/2)
	}
	b.ReportMetric(float64(benchProcs)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventlogExecutions: azure_eventlog_executions over the same
// log (no executions on disk: every tree is an execution from the logs
// only), the processes streamed into the join.
func BenchmarkEventlogExecutions(b *testing.B) {
	rows := benchRows(b, eventlog.ExecutionsPlugin{})
	if rows != 1 {
		b.Fatalf("%d rows, want 1 (one tree: the handler's pid 8000, its creation not logged)", rows)
	}
	b.ReportMetric(float64(benchProcs)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
