package host_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/host"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// rowsPlugin emits every kind of row a plugin may send to `SELECT *`.
type rowsPlugin struct{}

type structRow struct {
	A string
	B int
}

func (rowsPlugin) Info(types.Scope, *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{Name: "star_rows"}
}

func (rowsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	out := make(chan types.Row)
	go func() {
		defer close(out)
		when := time.Date(2024, 5, 2, 10, 11, 9, 601220000, time.UTC)
		deleted := ordereddict.NewDict().Set("A", 1).Set("B", "b").Set("C", nil)
		deleted.Delete("A")
		rows := []types.Row{
			ordereddict.NewDict().Set("Line", int64(1)).Set("Time", when).Set("Level", "INFO").Set("Pid", nil).
				Set("Env", ordereddict.NewDict().Set("K", "v").Set("N", nil)).Set("Unparsed", false).
				Set("F", 1.5).Set("F32", float32(2.5)).Set("Null", types.Null{}).Set("PNull", &types.Null{}).
				Set("U", uint16(3)).Set("I", 4),
			// The same columns again (a plugin's rows share them), then others.
			ordereddict.NewDict().Set("Line", int64(2)).Set("Time", nil).Set("Level", nil).Set("Pid", int64(7)).
				Set("Env", nil).Set("Unparsed", true).Set("F", 0.0).Set("F32", float32(0)).Set("Null", nil).
				Set("PNull", nil).Set("U", uint16(0)).Set("I", 0),
			deleted,
			ordereddict.NewDict().SetCaseInsensitive().Set("Mixed", "x").Set("mixed", "y").Set("Other", nil),
			ordereddict.NewDict().SetDefault("dflt").Set("A", "a"),
			ordereddict.NewDict(),
			ordereddict.NewDict().Set("@Keys", "not a method").Set("B", 1),
			ordereddict.NewDict().Set("TypedNil", (*ordereddict.Dict)(nil)).Set("NilNull", (*types.Null)(nil)),
			ordereddict.NewDict().Set("List", []string{"a", "b"}).Set("Map", map[string]int{"x": 1}),
			ordereddict.NewDict().Set("Any", []any{"a", int64(1), ordereddict.NewDict().Set("K", nil), nil, []any{}}).
				Set("Empty", []any{}).Set("NilAny", []any(nil)).Set("Line", int64(4)),
			ordereddict.NewDict().Set("Func", func() types.Any { return "called" }),
			ordereddict.NewDict().Set("Struct", structRow{"s", 2}).Set("Ptr", &structRow{"p", 3}),
			structRow{"row", 1},
			&structRow{"ptr", 2},
			ordereddict.NewDict().Set("Line", int64(3)).Set("Time", when).Set("Level", "ERROR").Set("Pid", nil).
				Set("Env", nil).Set("Unparsed", false).Set("F", 2.0).Set("F32", float32(1)).Set("Null", nil).
				Set("PNull", nil).Set("U", uint16(9)).Set("I", -1),
		}
		for _, r := range rows {
			select {
			case <-ctx.Done():
				return
			case out <- r:
			}
		}
	}()
	return out
}

// collect runs q through host.Eval (the pass-through for a bare
// `SELECT *`) or vfilter's own Eval, and returns each row's items with
// their Go types.
func collect(t *testing.T, scope vfilter.Scope, q string, viaHost bool) []string {
	t.Helper()
	var out []string
	for _, stmt := range mustParse(t, q) {
		var rows <-chan vfilter.Row
		done := func() {}
		if viaHost {
			rows, done = host.Eval(context.Background(), scope, stmt)
		} else {
			rows = stmt.Eval(context.Background(), scope)
		}
		for r := range rows {
			d, ok := r.(*ordereddict.Dict)
			if !ok {
				out = append(out, fmt.Sprintf("non-dict %T %#v", r, r))
				continue
			}
			var b strings.Builder
			fmt.Fprintf(&b, "ci=%v default=%#v:", d.IsCaseInsensitive(), d.GetDefault())
			for _, it := range d.Items() {
				fmt.Fprintf(&b, " %q=%T(%#v)", it.Key, it.Value, reflect.ValueOf(it.Value))
			}
			row := host.ReadOnlyRow(context.Background(), scope, r)
			fmt.Fprintf(&b, " | %s", row.String())
			out = append(out, b.String())
		}
		done()
	}
	return out
}

func mustParse(t *testing.T, q string) []*vfilter.VQL {
	t.Helper()
	m, err := vfilter.MultiParse(q)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// host.Eval's pass-through of `SELECT * FROM x` yields, row for row and
// value for value (Go types included), what vfilter's SELECT yields.
func TestSelectStarMatchesVfilter(t *testing.T) {
	scope := host.NewScope(host.Options{Plugins: []vfilter.PluginGeneratorInterface{rowsPlugin{}}})
	defer scope.Close()
	for _, q := range []string{
		"SELECT * FROM star_rows()",
		"SELECT * FROM range(end=3)",
		"LET X <= SELECT * FROM star_rows() SELECT * FROM X",
		// An artifact source: LET <Name> = <bare SELECT *> then SELECT * FROM <Name>.
		"LET S = SELECT * FROM star_rows() SELECT * FROM S",
		"LET S = SELECT * FROM star_rows() LET T = SELECT * FROM S SELECT * FROM T",
		"LET S = SELECT * FROM star_rows() SELECT * FROM S WHERE Line",
		"LET S = SELECT * FROM star_rows() SELECT * FROM foreach(row=S)",
		"LET S = SELECT * FROM star_rows() SELECT S.Line AS L FROM scope()",
		"LET S(A) = SELECT * FROM star_rows() SELECT * FROM S(A=1)",
		"LET S = SELECT * FROM star_rows() WHERE Line SELECT * FROM S",
		"LET Y = SELECT Line, Level FROM star_rows() SELECT * FROM Y",
		"SELECT * FROM foreach(row=[dict(A=1), dict(A=NULL)], query={ SELECT A, _value FROM scope() })",
		// A key named like a dict method: vfilter's SELECT * over S answers it with the method.
		"LET S = SELECT * FROM foreach(row=[dict(`@Values`='x', B=1)]) SELECT * FROM S",
		"SELECT * FROM star_rows() WHERE Line", // not a bare SELECT *: vfilter's path on both sides
		"SELECT * FROM star_rows() LIMIT 2",
	} {
		got := collect(t, scope, q, true)
		want := collect(t, scope, q, false)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\npass-through:\n%s\nvfilter:\n%s", q, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(got) == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
}
