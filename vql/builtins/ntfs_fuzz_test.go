package builtins

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// FuzzParseMFT: any bytes as an extracted $MFT give rows (every column
// computed, paths included) without a panic or a hang. Most mutations of
// a record reach new go-ntfs code, and the fuzzer minimises each for up to
// a minute by default: run with -fuzzminimizetime 2s or it mostly minimises.
func FuzzParseMFT(f *testing.F) {
	for _, name := range []string{"../../plugins/mftscan/testdata/mft-mkntfs-empty.bin",
		"../../plugins/mftscan/testdata/windows-deleted.MFT"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:8*1024])
		if len(data) >= 104*1024 {
			f.Add(data[96*1024 : 104*1024]) // deleted handler files
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer has no time limit per input: a hang is a failure.
		done := make(chan bool)
		go func() {
			defer close(done)
			opts := ntfs.Options{MaxDirectoryDepth: 20, MaxLinks: 20}
			eachMFTRow(context.Background(), bytes.NewReader(data), int64(len(data)), 0, opts,
				func(row *ordereddict.Dict) bool { return row.Len() == 27 })
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("no end after 10 s on %d bytes", len(data))
		}
	})
}

// FuzzParseUSN: any bytes as an extracted $J (no MFT: names from the
// journal, as parse_usn(usn_filename=...) reads it) give rows or an
// error, never a panic or a hang.
func FuzzParseUSN(f *testing.F) {
	data, err := os.ReadFile("../../plugins/usnjrnl/testdata/go-ntfs-usn-sample.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:2048])
	f.Add(data[len(data)-2048:])
	f.Fuzz(func(t *testing.T, data []byte) {
		v := ntfs.GetNTFSContextFromRawMFT(emptyReaderAt{}, 0x200, 0x200)
		v.SetOptions(ntfs.Options{MaxDirectoryDepth: 20, MaxLinks: 20, DisableFullPathResolution: true})
		stream := wholeFile{ReaderAt: bytes.NewReader(data), size: int64(len(data))}
		_, _ = preloadUSNNames(context.Background(), v, stream, 0)
		_ = walkUSN(v, stream, 0, func(rec *ntfs.USN_RECORD) bool {
			return usnRow(rec).Len() == 12
		})
	})
}
