package handlerlog

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/azvql/azvql/plugins/logscan"
)

// fixtureLogs are the seeds: every log of the fixture trees.
func fixtureLogs(f testing.TB) [][]byte {
	var out [][]byte
	for _, g := range []string{
		"../../tests/fixtures/*/var/log/azure/*/*.log",
		"../../tests/fixtures/*/var/log/azure/*/*/*.log",
		"../../tests/fixtures/*/var/log/waagent.log*",
		"../../tests/fixtures/*/WindowsAzure/Logs/*.log",
		"../../tests/fixtures/*/WindowsAzure/Logs/Plugins/*/*/*.log",
	} {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err == nil {
				if len(b) > 2<<10 {
					b = b[:2<<10]
				}
				out = append(out, b)
			}
		}
	}
	return append(out, []byte(winPlugin), []byte(waAppAgent), []byte(ostc), []byte(logfmt))
}

// FuzzHandlerLog: every dialect on any input: no panic, lines accounted
// for (the records' line counts add up to the lines read: nothing is
// dropped), valid UTF-8 out, bounded records.
func FuzzHandlerLog(f *testing.F) {
	for _, b := range fixtureLogs(f) {
		f.Add(b, uint8(0))
	}
	f.Add([]byte("[07/11/2019 21:04:19.62] [INFO] no thread\n[07/11/2019 21:04:20.01] [WARN]  x\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, fmtSel uint8) {
		format := ""
		if int(fmtSel) < len(Formats) {
			format = Formats[fmtSel]
		}
		const maxLine, maxRecord = 512, 2048
		var lines int
		var n int64
		got := Read(context.Background(), bytes.NewReader(data),
			Options{Format: format, Name: "x.log", Redact: fmtSel%2 == 0, MaxLine: maxLine, MaxRecord: maxRecord},
			func(string) {},
			func(r *Record) bool {
				n++
				lines += r.Lines
				if !utf8.ValidString(r.Message) || !utf8.ValidString(r.Error) {
					t.Fatalf("invalid UTF-8 in %+v", r)
				}
				if len(r.Message) > maxRecord+maxLine+16 && r.Format != FormatWaagent {
					t.Fatalf("record of %d bytes", len(r.Message))
				}
				return true
			})
		if got == "" || got == FormatWaagent {
			return // compressed-looking garbage, or agentlog's own accounting
		}
		br := bufio.NewReader(bytes.NewReader(data))
		if logscan.Compression(br) != "" || logscan.UTF16(br) != "" {
			return // lines of the decoded text, not of data
		}
		want := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			want++
		}
		if lines != want {
			t.Fatalf("%s: records hold %d lines, input has %d", got, lines, want)
		}
	})
}

// FuzzLogfmt: the logfmt splitter on any line.
func FuzzLogfmt(f *testing.F) {
	f.Add(`time=2023-04-07T04:09:21Z version=v2.1.3/git@4cd2b9f-clean operation=enable seq=0 event="x \" y" error= k`)
	f.Add(`time="unterminated`)
	f.Add(`time=x a=b=c ="" =`)
	f.Fuzz(func(t *testing.T, line string) {
		keys, vals, ok := parseLogfmt(line)
		if ok != (len(line) >= 5 && line[:5] == "time=") {
			t.Fatalf("ok=%v", ok)
		}
		if len(keys) != len(vals) || len(keys) > maxFields {
			t.Fatalf("%d keys %d vals", len(keys), len(vals))
		}
		exitStatus(line)
		goVersion(line)
	})
}

// FuzzExecutions: the executions join over records of any dialect.
func FuzzExecutions(f *testing.F) {
	for _, b := range fixtureLogs(f) {
		f.Add(b, b)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		eb := NewExecBuilder()
		for i, data := range [][]byte{a, b} {
			eb.StartFile(string(rune('a' + i)))
			Read(context.Background(), bytes.NewReader(data), Options{Name: "/var/log/azure/run-command/handler.log", MaxLine: 512, MaxRecord: 2048},
				func(string) {}, func(r *Record) bool { eb.Add(r); return true })
		}
		for _, e := range eb.Executions() {
			e.Row()
			if e.Handler == "" {
				t.Fatalf("execution without handler: %+v", e)
			}
		}
	})
}
