package builtins_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/tools/evtxwriter"
	"github.com/azvql/azvql/vql/host"
	"www.velocidex.com/golang/evtx"
	"www.velocidex.com/golang/vfilter"
)

const benchEvents = 50000

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// benchLog writes a Security log of 4688s (the shape of the real
// samples, handler parents) with the EVTX writer, once per run.
func benchLog(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "azvql-evtx-bench")
		if err != nil {
			benchErr = err
			return
		}
		w := evtxwriter.New()
		start := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
		for i := 0; i < benchEvents; i++ {
			e := evtxwriter.Event{
				Channel: "Security", Provider: "Microsoft-Windows-Security-Auditing",
				ProviderGUID: "54849625-5478-4994-A5BA-3E3B0328C30D", EventID: 4688, Version: 2,
				Task: 13312, Keywords: "0x8020000000000000", RecordID: uint64(i + 1),
				Time: start.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), ProcessID: 4, ThreadID: 116,
				Computer: "vm-win-01",
				Data: []evtxwriter.Data{
					{Name: "SubjectUserSid", Type: "sid", Value: "S-1-5-18"},
					{Name: "SubjectUserName", Value: "VM-WIN-01$"},
					{Name: "SubjectDomainName", Value: "WORKGROUP"},
					{Name: "SubjectLogonId", Type: "hex64", Value: "0x3e7"},
					{Name: "NewProcessId", Type: "hex64", Value: fmt.Sprint(4000 + i)},
					{Name: "NewProcessName", Value: `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
					{Name: "TokenElevationType", Value: "%%1936"},
					{Name: "ProcessId", Type: "hex64", Value: "0x1f40"},
					{Name: "CommandLine", Value: fmt.Sprintf("powershell -ExecutionPolicy Unrestricted -File script%d.ps1", i)},
					{Name: "TargetUserSid", Type: "sid", Value: "S-1-0-0"},
					{Name: "TargetUserName", Value: "-"},
					{Name: "TargetDomainName", Value: "-"},
					{Name: "TargetLogonId", Type: "hex64", Value: "0x0"},
					{Name: "ParentProcessName", Value: `C:\Packages\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\bin\RunCommandExtension.exe`},
					{Name: "MandatoryLabel", Type: "sid", Value: "S-1-16-16384"},
				},
			}
			r, err := e.Record()
			if err == nil {
				err = w.Add(r)
			}
			if err != nil {
				benchErr = err
				return
			}
		}
		benchFile = filepath.Join(dir, "Security.evtx")
		f, err := os.Create(benchFile)
		if err != nil {
			benchErr = err
			return
		}
		if _, err := w.WriteTo(f); err != nil {
			benchErr = err
		}
		f.Close()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

func reportEvents(b *testing.B, path string) {
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkParseEvtx: SELECT count() FROM parse_evtx(...) through the vql
// host's scope, every event built as a row.
func BenchmarkParseEvtx(b *testing.B) {
	path := benchLog(b)
	scope := host.NewScope(host.Options{Env: ordereddict.NewDict().Set("F", path)})
	stmt, err := vfilter.Parse("SELECT count() AS N FROM parse_evtx(filename=F) GROUP BY 1")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for row := range stmt.Eval(context.Background(), scope) {
			v, _ := scope.Associative(row, "N")
			n, _ = strconv.Atoi(fmt.Sprint(v))
		}
		if n != benchEvents {
			b.Fatalf("%d events", n)
		}
	}
	reportEvents(b, path)
}

// BenchmarkEvtxLibrary is the floor: the library alone, as
// Velociraptor's parse_evtx drives it (GetChunks, Parse per chunk), no
// query engine.
func BenchmarkEvtxLibrary(b *testing.B) {
	path := benchLog(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fd, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		chunks, err := evtx.GetChunks(fd)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range chunks {
			records, _ := c.Parse(0)
			n += len(records)
		}
		fd.Close()
		if n != benchEvents {
			b.Fatalf("%d events", n)
		}
	}
	reportEvents(b, path)
}
