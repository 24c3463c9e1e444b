package handlerlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/azvql/azvql/tools/loggen/loggen"
)

// benchInput repeats a fixture log to about size bytes.
func benchInput(b *testing.B, path, fallback string, size int) []byte {
	b.Helper()
	seed, err := os.ReadFile(path)
	if err != nil || len(seed) == 0 {
		seed = []byte(fallback)
	}
	var buf bytes.Buffer
	for buf.Len() < size {
		buf.Write(seed)
	}
	return buf.Bytes()
}

func benchParse(b *testing.B, data []byte, name string, rows bool) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		Read(context.Background(), bytes.NewReader(data), Options{Name: name, Redact: true}, func(string) {},
			func(r *Record) bool {
				if rows {
					Row(r)
				}
				n++
				return true
			})
		if n == 0 {
			b.Fatal("no records")
		}
	}
}

// BenchmarkHandlerLog: records (and rows) per dialect on ~8 MB of fixture lines.
func BenchmarkHandlerLog(b *testing.B) {
	const size = 8 << 20
	for _, c := range []struct{ name, path, evPath, fallback string }{
		{"logfmt", "../../tests/fixtures/linux/var/log/azure/run-command/handler.log", "/var/log/azure/run-command/handler.log", logfmt},
		{"windows-plugin", "../../tests/fixtures/windows/WindowsAzure/Logs/Plugins/Microsoft.CPlat.Core.RunCommandWindows/1.1.22/RunCommandExtension.log",
			`C:\WindowsAzure\Logs\Plugins\Microsoft.CPlat.Core.RunCommandWindows\1.1.22\RunCommandExtension.log`, winPlugin},
		{"waappagent", "../../tests/fixtures/windows/WindowsAzure/Logs/WaAppAgent.log", `C:\WindowsAzure\Logs\WaAppAgent.log`, waAppAgent},
		{"waagent", "../../tests/fixtures/linux/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux/CommandExecution.log",
			"/var/log/azure/Microsoft.CPlat.Core.RunCommandLinux/CommandExecution.log", ""},
	} {
		data := benchInput(b, c.path, c.fallback, size)
		b.Run(c.name+"/records", func(b *testing.B) { benchParse(b, data, c.evPath, false) })
		b.Run(c.name+"/rows", func(b *testing.B) { benchParse(b, data, c.evPath, true) })
	}
}

// BenchmarkExecutions: the executions join over ~8 MB of handler.log.
func BenchmarkExecutions(b *testing.B) {
	data := benchInput(b, "../../tests/fixtures/linux/var/log/azure/run-command/handler.log", logfmt, 8<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		eb := NewExecBuilder()
		eb.StartFile("/var/log/azure/run-command/handler.log")
		Read(context.Background(), bytes.NewReader(data), Options{Name: "/var/log/azure/run-command/handler.log", Redact: true},
			func(string) {}, func(r *Record) bool { eb.Add(r); return true })
		if len(eb.Executions()) == 0 {
			b.Fatal("no executions")
		}
	}
}

// BenchmarkLogExecutions: azure_log_executions' join over a generated
// 50 MiB waagent.log (tools/loggen), reading records without rows
// (ExecOnly, as the plugin does) and, for comparison, through the rows.
func BenchmarkLogExecutions(b *testing.B) {
	p := filepath.Join(os.TempDir(), "azvql-handlerlog-bench", "waagent-50MiB-seed1.log")
	data, err := os.ReadFile(p)
	if err != nil || len(data) < 50<<20 {
		var buf bytes.Buffer
		if _, err := loggen.Generate(&buf, 50<<20, 1); err != nil {
			b.Fatal(err)
		}
		data = buf.Bytes()
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o644)
	}
	for _, c := range []struct {
		name     string
		execOnly bool
	}{{"execonly", true}, {"rows", false}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				eb := NewExecBuilder()
				eb.StartFile("/var/log/waagent.log")
				Read(context.Background(), bytes.NewReader(data), Options{Name: "/var/log/waagent.log", Redact: true, ExecOnly: c.execOnly},
					func(string) {}, func(r *Record) bool { eb.Add(r); return true })
				if len(eb.Executions()) == 0 {
					b.Fatal("no executions")
				}
			}
		})
	}
}
