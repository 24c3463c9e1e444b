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
	"www.velocidex.com/golang/vfilter/types"
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
		// Strings the encoder escapes, and nested dicts (a log row's Env).
		ordereddict.NewDict().Set("Message", `say "hi"`),
		ordereddict.NewDict().Set("Message", "a<b>&c"),
		ordereddict.NewDict().Set("Message", "tab\there\r\nline\x00\x1f\x7f"),
		ordereddict.NewDict().Set("Message", "héllo \u2028 \u2029 \U0001F600 bad \xff\xfe end"),
		ordereddict.NewDict().Set("k\\", 1).Set("ké\n", "v"),
		ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("A", "1")).Set("Empty", ordereddict.NewDict()).Set("After", "x"),
		ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("A", ordereddict.NewDict().Set("B", nil).Set("C", when))),
		// Lists (an execution's Files, FileUris, RelatedPaths).
		ordereddict.NewDict().Set("Files", []interface{}{}).Set("After", "x"),
		ordereddict.NewDict().Set("Files", []interface{}{
			ordereddict.NewDict().Set("Name", "script.sh").Set("Size", int64(12)).Set("SHA256", nil).Set("Mtime", when),
			ordereddict.NewDict(),
		}).Set("FileUris", []interface{}{"https://x/y?sig=[REDACTED]"}),
		ordereddict.NewDict().Set("L", []interface{}{"a<", nil, int64(1), []interface{}{}, []interface{}{"x", true,
			[]interface{}{ordereddict.NewDict().Set("K", []interface{}{when})}}, vfilter.Null{}, &vfilter.Null{}}),
		ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("L", []interface{}{ordereddict.NewDict().Set("E", ordereddict.NewDict())})),
		// A list as vfilter.RowToDict rebuilds it.
		ordereddict.NewDict().Set("Files", []types.Any{ordereddict.NewDict().Set("Name", "a"), "x", []types.Any{}, []interface{}{nil}}),
		ordereddict.NewDict().Set("Files", []types.Any{}),
	}
	for _, row := range flat {
		checkFlat(t, row, true)
	}
	full := []*ordereddict.Dict{
		ordereddict.NewDict(),
		ordereddict.NewDict().Set("Float", 1.5),
		ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("F", 1.5)),
		ordereddict.NewDict().Set("Env", (*ordereddict.Dict)(nil)),
		ordereddict.NewDict().Set("List", []string{"a"}),
		ordereddict.NewDict().Set("NilList", []interface{}(nil)),
		ordereddict.NewDict().Set("NilList", []types.Any(nil)),
		ordereddict.NewDict().Set("L", []types.Any{1.5}),
		ordereddict.NewDict().Set("L", []interface{}{"a", 1.5}),
		ordereddict.NewDict().Set("L", []interface{}{[]string{"a"}}),
		ordereddict.NewDict().Set("L", []interface{}{(*ordereddict.Dict)(nil)}),
		ordereddict.NewDict().Set("L", []interface{}{func() vfilter.Any { return 1 }}),
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
	f.Add("k\n", "x\xff\u2028\x01\\", int64(7), true, int64(0), int64(0), uint8(4))
	f.Fuzz(func(t *testing.T, key, s string, n int64, b bool, sec, nsec int64, pick uint8) {
		row := ordereddict.NewDict().Set(key, s).Set(key+"n", n).Set(key+"b", b).
			Set(key+"t", time.Unix(sec, nsec%1e9))
		switch pick % 9 {
		case 1:
			row.Set("Nil", nil)
		case 2:
			row.Set("F", float64(n)/3)
		case 3:
			row.Delete(key)
		case 4:
			row.Set(s, ordereddict.NewDict().Set(key, s).Set(s, n))
		case 5:
			row.Set("L", []interface{}{s, n, b, nil, []interface{}{}, ordereddict.NewDict().Set(key, []interface{}{s})})
		case 6:
			row.Set("L", []interface{}{})
		case 7:
			row.Set(key, []interface{}{[]interface{}{key, time.Unix(sec, 0)}, float64(n)})
		case 8:
			row.Set("L", []types.Any{s, []types.Any{n, b}, ordereddict.NewDict().Set(s, []types.Any{})})
		}
		checkFlat(t, row, false)
	})
}

func BenchmarkJSONWriter(b *testing.B) {
	rows := map[string]*ordereddict.Dict{
		"count":  ordereddict.NewDict().Set("count()", int64(893899)),
		"nested": ordereddict.NewDict().Set("Env", ordereddict.NewDict().Set("A", "1")),
		// A Command: record of azure_waagent_log: a multi-line message.
		"logrow": ordereddict.NewDict().Set("Line", int64(36)).Set("Time", time.Date(2024, 1, 1, 0, 6, 22, 63964000, time.UTC)).
			Set("Level", "INFO").Set("Thread", nil).Set("Tag", nil).Set("Handler", "Microsoft.CPlat.Core.RunCommandHandlerLinux").
			Set("HandlerVersion", "1.3.9").Set("ExtensionName", "runcmd1").
			Set("Message", "Command: bin/run-command-handler-shim enable\n[stdout]\n+ nohup /var/lib/waagent/x/bin/extension enable\ntime=2024-01-01T00:06:22Z \"quoted\"\n[stderr]\n").
			Set("Event", "Command").Set("SeqNo", int64(1)).Set("Env", nil).Set("Host", nil).Set("Pid", nil).Set("Era", "2.2.47+").Set("Unparsed", false),
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
