package agentlog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/azvql/azvql/tools/loggen/loggen"
	"www.velocidex.com/golang/vfilter"
)

// benchLog returns a generated ~50 MB waagent.log (cached in the temp dir:
// the generator is deterministic).
func benchLog(b *testing.B) (dir, name string, size int64) {
	b.Helper()
	dir = filepath.Join(os.TempDir(), "azvql-agentlog-bench")
	name = "waagent-50MiB-seed1.log"
	p := filepath.Join(dir, name)
	if st, err := os.Stat(p); err == nil && st.Size() > 50<<20 {
		return dir, name, st.Size()
	}
	os.MkdirAll(dir, 0o755)
	f, err := os.Create(p + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := loggen.Generate(f, 50<<20, 1); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Rename(p+".tmp", p); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(p)
	return dir, name, st.Size()
}

// peakRSS is the process's peak resident set (VmHWM) in MB, or -1.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmHWM:") {
			fs := strings.Fields(s.Text())
			kb, _ := strconv.ParseFloat(fs[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuTime is the process's user+system CPU time. On a shared machine the
// benchmark reports MB per CPU second as well as per wall second: with
// GOMAXPROCS=1 it is the one-core figure, whatever else runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the cpu-MB/s metric for n runs over size bytes.
func reportCPU(b *testing.B, start time.Duration, size int64) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "cpu-MB/s")
	}
}

// BenchmarkWaagentLog measures azure_waagent_log on a generated ~50 MB
// log: assemble (line scanning and record assembly only), rows (plus the
// row dicts, Event/SeqNo/Env, redaction), vql (end to end: SELECT count()
// FROM azure_waagent_log(...) through vfilter).
func BenchmarkWaagentLog(b *testing.B) {
	dir, name, size := benchLog(b)
	path := filepath.Join(dir, name)
	b.Run("assemble", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(), size)
		for i := 0; i < b.N; i++ {
			f, _ := os.Open(path)
			n := 0
			a := NewAssembler(Options{}, func(r *Record) bool { n++; return true })
			if _, err := Scan(f, a); err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.ReportMetric(float64(n), "records")
		}
	})
	b.Run("rows", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(), size)
		rb := &RowBuilder{Redact: true}
		for i := 0; i < b.N; i++ {
			f, _ := os.Open(path)
			n := 0
			a := NewAssembler(Options{}, func(r *Record) bool {
				if rb.Row(r) != nil {
					n++
				}
				return true
			})
			if _, err := Scan(f, a); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("vql", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		defer reportCPU(b, cpuTime(), size)
		for i := 0; i < b.N; i++ {
			scope := vfilter.NewScope()
			scope.AppendPlugins(WaagentLogPlugin{})
			q, err := vfilter.Parse(fmt.Sprintf("SELECT count() AS Count FROM azure_waagent_log(filename='/%s', root='%s')", name, dir))
			if err != nil {
				b.Fatal(err)
			}
			var last any
			for r := range q.Eval(context.Background(), scope) {
				last = r
			}
			if last == nil {
				b.Fatal("no rows")
			}
			scope.Close()
		}
		b.ReportMetric(peakRSS(), "peak-RSS-MB")
	})
}
