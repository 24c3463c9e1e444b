package goalstate

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkHistoryZips walks a history folder of 50 zipped goal states
// (the agent keeps at most 50), each holding the real hibernate capture:
// ExtensionsConfig.xml, VmSettings.json, GoalState.xml,
// HostingEnvironmentConfig.xml, Certificates.json.
func BenchmarkHistoryZips(b *testing.B) {
	dir := b.TempDir()
	var members [][2]string
	for _, f := range []string{"ExtensionsConfig.xml", "VmSettings.json", "GoalState.xml", "HostingEnvironmentConfig.xml", "Certificates.json"} {
		members = append(members, [2]string{f, string(fixtureFile(b, hibernateDir+f))})
	}
	z := zipBytes(b, members...)
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("2025-06-%02dT10-00-00__%d-%d.zip", 1+i%28, i+1, 7390268434121519467+int64(i))
		writeFile(b, filepath.Join(dir, "var", "lib", "waagent", "history", name), z)
	}
	b.SetBytes(int64(50 * len(z)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		res := walkDir(b, dir, true)
		rows = len(res.Rows)
	}
	b.StopTimer()
	if rows != 300 {
		b.Fatalf("rows: %d", rows)
	}
	b.ReportMetric(float64(rows), "rows/op")
}
