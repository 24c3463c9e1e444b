package builtins

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/Velocidex/ordereddict"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// BenchmarkParseMFT100k: parse_mft's rows (paths included) over a
// 100,000-record $MFT, the construction of plugins/mftscan's
// BenchmarkScan100k (mkntfs's first 24 records repeated), so the two
// read the same bytes (62,505 records in use); reports records/s.
func BenchmarkParseMFT100k(b *testing.B) {
	seed, err := os.ReadFile("../../plugins/mftscan/testdata/mft-mkntfs-empty.bin")
	if err != nil {
		b.Fatal(err)
	}
	const n = 100000
	mft := make([]byte, 0, n*1024)
	for len(mft) < n*1024 {
		mft = append(mft, seed...)
	}
	mft = mft[:n*1024]
	opts := ntfs.Options{MaxDirectoryDepth: 20, MaxLinks: 20}
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		eachMFTRow(context.Background(), bytes.NewReader(mft), int64(len(mft)), 0, opts,
			func(*ordereddict.Dict) bool { rows++; return true })
	}
	// Records without a FILE signature (never used) give no row.
	if rows < n/2*b.N {
		b.Fatalf("%d rows for %d runs", rows, b.N)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
