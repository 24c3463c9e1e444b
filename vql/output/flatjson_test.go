package output

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

// fullEncoding is what the writers print without the flat path.
func fullEncoding(t testing.TB, row *ordereddict.Dict, loc *time.Location, indent bool) string {
	b, err := json.MarshalWithOptions(row, EncOpts(loc))
	if err != nil {
		t.Fatal(err)
	}
	if !indent {
		return string(b)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, " ", " "); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func checkFlat(t testing.TB, row *ordereddict.Dict, wantFlat bool) {
	t.Helper()
	berlin := time.FixedZone("CEST", 2*3600)
	for _, loc := range []*time.Location{nil, berlin} {
		for _, indent := range []bool{true, false} {
			got, ok := appendFlatRow([]byte("prefix"), row, loc, indent)
			if string(got[:6]) != "prefix" {
				t.Fatalf("appendFlatRow lost the bytes before it: %q", got)
			}
			if !ok {
				if wantFlat {
					t.Fatalf("%v: not taken", row)
				}
				if string(got) != "prefix" {
					t.Fatalf("%v: declined but left %q", row, got)
				}
				continue
			}
			if want := fullEncoding(t, row, loc, indent); string(got[6:]) != want {
				t.Fatalf("%v (loc %v, indent %v):\n flat %s\n full %s", row, loc, indent, got[6:], want)
			}
		}
	}
}

func TestFlatRowMatchesEncoder(t *testing.T) {
	when := time.Date(2023, 10, 25, 19, 16, 28, 123456000, time.UTC)
	flat := []*ordereddict.Dict{
		ordereddict.NewDict().Set("count()", int64(893899)),
		ordereddict.NewDict().Set("Line", int64(1)).Set("Time", when).Set("Level", "INFO").
			Set("Pid", nil).Set("Null", vfilter.Null{}).Set("PNull", &vfilter.Null{}).Set("Unparsed", false).
			Set("i", -7).Set("i8", int8(-8)).Set("i16", int16(16)).Set("i32", int32(-32)).
			Set("u", uint(1)).Set("u8", uint8(8)).Set("u16", uint16(16)).Set("u32", uint32(32)).
			Set("u64", uint64(math.MaxUint64)).Set("min", int64(math.MinInt64)).Set("", "empty key").
			Set("zero time", time.Time{}).Set("local", time.Date(2020, 5, 31, 15, 28, 5, 0, time.FixedZone("X", -5*3600))),
	}
	for _, row := range flat {
		checkFlat(t, row, true)
	}
	full := []*ordereddict.Dict{
		ordereddict.NewDict(),
		ordereddict.NewDict().Set("Message", `say "hi"`),
		ordereddict.NewDict().Set("Message", "a<b"),
		ordereddict.NewDict().Set("Message", "tab\there"),
		ordereddict.NewDict().Set("Message", "héllo"),
		ordereddict.NewDict().Set("k\\", 1),
		ordereddict.NewDict().Set("Float", 1.5),
		ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("A", "1")),
		ordereddict.NewDict().Set("List", []string{"a"}),
		ordereddict.NewDict().Set("Far", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
	for _, row := range full {
		checkFlat(t, row, false)
	}
	// Deleted items are skipped, as the full encoder skips them.
	d := ordereddict.NewDict().Set("A", 1).Set("B", "b")
	d.Delete("A")
	checkFlat(t, d, true)
}

func FuzzFlatRow(f *testing.F) {
	f.Add("Message", "hello", int64(3), true, int64(1590938885), int64(10), uint8(0))
	f.Add("k\"", "a<b>&c", int64(-1), false, int64(-62135596800), int64(0), uint8(5))
	f.Fuzz(func(t *testing.T, key, s string, n int64, b bool, sec, nsec int64, pick uint8) {
		row := ordereddict.NewDict().Set(key, s).Set(key+"n", n).Set(key+"b", b).
			Set(key+"t", time.Unix(sec, nsec%1e9))
		switch pick % 4 {
		case 1:
			row.Set("Nil", nil)
		case 2:
			row.Set("F", float64(n)/3)
		case 3:
			row.Delete(key)
		}
		checkFlat(t, row, false)
	})
}

func BenchmarkJSONWriter(b *testing.B) {
	rows := map[string]*ordereddict.Dict{
		"count":  ordereddict.NewDict().Set("count()", int64(893899)),
		"nested": ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("A", "1")),
	}
	for name, row := range rows {
		b.Run(name, func(b *testing.B) {
			w, _ := NewWriter("json", io.Discard)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w.Write(row)
			}
			w.Close()
		})
	}
}
