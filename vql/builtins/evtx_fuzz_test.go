package builtins

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/Velocidex/ordereddict"
)

// FuzzEvtxWalker: any bytes are walked without a panic, a hang or an
// unbounded allocation (the walker reads one chunk at a time).
func FuzzEvtxWalker(f *testing.F) {
	for _, rel := range []string{
		"michkoll_fakenevtx/Security_Single4688.evtx",
		"omerbenamram_evtx/Application_no_crc32.evtx",
		"mdecrevoisier_EVTX-to-MITRE-Attack/ID4103-4104-Payload download via PowerShell.evtx",
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "tests", "fixtures", "evtx", "samples", rel))
		if err != nil {
			f.Fatal(err)
		}
		// The header block and the first records of the chunk: small
		// inputs keep the fuzzer fast (the walker pads a short chunk).
		f.Add(data[:0x1000+0x1800])
		f.Add(data[:5000])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := &evtxWalker{r: bytes.NewReader(data), size: int64(len(data)), Issue: func(evtxIssue) {}}
		_ = w.Walk(func(*ordereddict.Dict) bool { return true })
	})
}
