package extensions

import (
	"os"
	"path/filepath"
	"testing"
)

// Parser throughput on real-shaped documents (MB/s from b.SetBytes):
// the demo fixture's protected-script settings and the Go handler's
// final status, and WALinuxAgent's sample-status.json.
func benchParse(b *testing.B, path string, parse func([]byte) error) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

const rc1Dir = "../../tests/fixtures/linux/var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5"

func BenchmarkParseSettings(b *testing.B) {
	benchParse(b, filepath.Join(rc1Dir, "config", "1.settings"), func(d []byte) error {
		_, err := ParseSettings(d)
		return err
	})
}

func BenchmarkParseStatus(b *testing.B) {
	benchParse(b, filepath.Join(rc1Dir, "status", "0.status"), func(d []byte) error {
		_, err := ParseStatus(d)
		return err
	})
}

func BenchmarkParseStatusLarge(b *testing.B) {
	benchParse(b, filepath.Join("testdata", "sample-status.json"), func(d []byte) error {
		_, err := ParseStatus(d)
		return err
	})
}
