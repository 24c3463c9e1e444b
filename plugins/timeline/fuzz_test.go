package timeline

import (
	"bytes"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

// FuzzDecode: any bytes (a damaged spilled run) decode to a value or
// errCorrupt, never a panic or an allocation past the input; what decodes
// encodes back to the same bytes when it was a canonical encoding.
func FuzzDecode(f *testing.F) {
	t := time.Date(2024, 5, 2, 10, 0, 0, 123, time.UTC)
	seq := int64(3)
	f.Add(detail(ordereddict.NewDict().Set("a", "x").Set("n", int64(-5)).Set("t", t).
		Set("l", []string{"p", "q"}).Set("d", ordereddict.NewDict().Set("f", 1.5).Set("b", true)).Set("z", nil)))
	f.Add(appendRow(nil, &Row{Time: &t, Source: "Executions", SeqNo: &seq, Summary: "s", Key: "k",
		Detail: detail(ordereddict.NewDict().Set("u", uint64(7)))}))
	f.Add([]byte{tagList, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeValue(b); err == nil {
			again := appendValue(nil, v)
			if _, err := decodeValue(again); err != nil {
				t.Fatalf("re-encoded value does not decode: %v", err)
			}
			if w, _ := decodeValue(again); !bytes.Equal(appendValue(nil, w), again) {
				t.Fatalf("encoding not stable")
			}
		}
		if _, err := decodeRow(b); err != nil && err != errCorrupt {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
