package evidence

import (
	"os"
	"path/filepath"
	"testing"
)

// The cost of confinement: Root.Open (every folder Lstat-checked, then
// openat2 or the walk) against a plain os.Open of the same file.
func BenchmarkOpen(b *testing.B) {
	rel := "var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/config/0.settings"
	base := b.TempDir()
	full := filepath.Join(base, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(full, []byte("{}"), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("Root.Open", func(b *testing.B) {
		r := NewRoot(OSAccessor{}, base)
		for i := 0; i < b.N; i++ {
			f, err := r.Open("/" + rel)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("os.Open", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, err := os.Open(full)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}
