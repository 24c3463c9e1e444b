package host

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// describe is a dict's items with their Go types, nested lists and dicts
// included, and its flags.
func describe(d *ordereddict.Dict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ci=%v default=%#v:", d.IsCaseInsensitive(), d.GetDefault())
	var val func(v any)
	val = func(v any) {
		switch t := v.(type) {
		case *ordereddict.Dict:
			if t == nil {
				b.WriteString("(*Dict)(nil)")
				return
			}
			b.WriteString("{" + describe(t) + "}")
		case []types.Any:
			b.WriteString(fmt.Sprintf("%T[", v))
			for _, e := range t {
				val(e)
				b.WriteString(",")
			}
			b.WriteString("]")
		default:
			fmt.Fprintf(&b, "%T(%#v)", v, v)
		}
	}
	for _, it := range d.Items() {
		fmt.Fprintf(&b, " %q=", it.Key)
		val(it.Value)
	}
	return b.String()
}

// RowCopier.Copy gives, row for row, what vfilter.RowToDict gives (Go
// types included), and a new dict each time: changing one copy (as
// RunRequest's emit does) changes neither the row nor the next copy.
func TestRowCopierMatchesRowToDict(t *testing.T) {
	scope := NewScope(Options{})
	defer scope.Close()
	ctx := context.Background()
	when := time.Date(2024, 5, 2, 10, 11, 9, 601220000, time.UTC)
	deleted := ordereddict.NewDict().Set("A", 1).Set("B", "b")
	deleted.Delete("A")
	sub := ordereddict.NewDict().Set("K", "v")
	rows := []vfilter.Row{
		ordereddict.NewDict().Set("OS", "Linux").Set("SeqNo", int64(3)).Set("Started", when).Set("Pid", nil).
			Set("Files", []any{sub, nil, "x", []any{int64(1), nil}, []types.Any{true}, (*ordereddict.Dict)(nil)}).
			Set("FileUris", []types.Any{"a"}).Set("Empty", []any{}).Set("N", types.Null{}).Set("PN", &types.Null{}).
			Set("PT", &when).Set("F", 1.5).Set("U", uint16(2)).Set("I", 3).Set("Sub", sub),
		// The same columns again (one layout), other values.
		ordereddict.NewDict().Set("OS", "Windows").Set("SeqNo", nil).Set("Started", nil).Set("Pid", int64(9)).
			Set("Files", nil).Set("FileUris", nil).Set("Empty", nil).Set("N", nil).Set("PN", nil).
			Set("PT", nil).Set("F", 0.0).Set("U", nil).Set("I", nil).Set("Sub", nil),
		deleted,
		ordereddict.NewDict(),
		ordereddict.NewDict().Set("NilList", []any(nil)).Set("NilTypes", []types.Any(nil)),
		ordereddict.NewDict().Set("TypedNil", (*ordereddict.Dict)(nil)).Set("NilNull", (*types.Null)(nil)).Set("NilTime", (*time.Time)(nil)),
		ordereddict.NewDict().Set("L", []any{[]any(nil)}),
		ordereddict.NewDict().Set("M", []any{(*types.Null)(nil), &types.Null{}, (*time.Time)(nil), &when, []types.Any{nil}}),
		ordereddict.NewDict().Set("L", []string{"a"}).Set("Map", map[string]int{"x": 1}),
		ordereddict.NewDict().Set("Deep", []any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{[]any{"x"}}}}}}}}}}}}),
		ordereddict.NewDict().Set("@Keys", "not a method").Set("B", 1),
		ordereddict.NewDict().SetCaseInsensitive().Set("Mixed", "x"),
		ordereddict.NewDict().SetDefault("dflt").Set("A", "a"),
		ordereddict.NewDict().Set("Func", func() types.Any { return "called" }),
		ordereddict.NewDict().Set("F32", float32(1)).Set("L", []any{float32(2)}),
		ordereddict.NewDict().Set("OS", "Linux"),
	}
	var c RowCopier
	if c.Copy(ctx, scope, rows[0]); len(c.layout.names) != 14 {
		t.Fatalf("an execution-like row did not take the direct copy (layout %v)", c.layout.names)
	}
	for _, row := range rows {
		before := describe(row.(*ordereddict.Dict))
		want := describe(vfilter.RowToDict(ctx, scope, row))
		got := c.Copy(ctx, scope, row)
		if describe(got) != want {
			t.Errorf("copy:\n got  %s\n want %s", describe(got), want)
		}
		got.Set("_Source", "changed")
		if after := describe(row.(*ordereddict.Dict)); after != before {
			t.Errorf("changing the copy changed the row:\n %s\n %s", before, after)
		}
		if again := describe(c.Copy(ctx, scope, row)); again != want {
			t.Errorf("a second copy after changing the first:\n got  %s\n want %s", again, want)
		}
	}
	if !reflect.DeepEqual(c.layout.names, []string{"OS"}) {
		t.Errorf("layout %v: the last plain row's columns", c.layout.names)
	}
}
