package host

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

func TestReadOnlyRow(t *testing.T) {
	ctx := context.Background()
	scope := vfilter.NewScope()
	when := time.Date(2023, 10, 25, 19, 16, 28, 0, time.UTC)
	plain := ordereddict.NewDict().Set("count()", int64(3)).Set("Time", when).
		Set("Env", ordereddict.NewDict().Set("A", "1")).Set("Null", types.Null{})
	deleted := ordereddict.NewDict().Set("A", 1).Set("B", 2)
	deleted.Delete("A")

	cases := []struct {
		name string
		row  *ordereddict.Dict
		same bool // returned as is
	}{
		{"plain values", plain, true},
		{"deleted item", deleted, true},
		{"nil value becomes NULL", ordereddict.NewDict().Set("Pid", nil), false},
		{"slice is normalized", ordereddict.NewDict().Set("L", []string{"a"}), false},
		{"callable is called", ordereddict.NewDict().Set("F", func() types.Any { return "x" }), false},
		{"case-insensitive", ordereddict.NewDict().Set("A", 1).SetCaseInsensitive(), false},
		{"default value", ordereddict.NewDict().Set("A", 1).SetDefault(0), false},
	}
	for _, c := range cases {
		got := ReadOnlyRow(ctx, scope, c.row)
		if (got == c.row) != c.same {
			t.Errorf("%s: returned as is = %v, want %v", c.name, got == c.row, c.same)
		}
		want := vfilter.RowToDict(ctx, scope, c.row)
		gj, err1 := json.Marshal(got)
		wj, err2 := json.Marshal(want)
		if err1 != nil || err2 != nil || string(gj) != string(wj) {
			t.Errorf("%s: %s (%v), RowToDict gives %s (%v)", c.name, gj, err1, wj, err2)
		}
	}
}

// Eval gives the rows vql.Eval gives, LET statements included, and the
// SELECT sees $Query as under vql.Eval.
func TestEvalLikeVQLEval(t *testing.T) {
	ctx := context.Background()
	run := func(direct bool) string {
		scope := vfilter.NewScope()
		defer scope.Close()
		stmts, err := vfilter.MultiParse("LET X = SELECT _value AS V FROM range(end=3)\n" +
			"SELECT V, V * 2 AS Twice, `$Query` =~ 'Twice' AS SeesQuery FROM X WHERE V > 0")
		if err != nil {
			t.Fatal(err)
		}
		var out []*ordereddict.Dict
		for _, s := range stmts {
			if direct {
				rows, done := Eval(ctx, scope, s)
				for r := range rows {
					out = append(out, vfilter.RowToDict(ctx, scope, r))
				}
				done()
			} else {
				for r := range s.Eval(ctx, scope) {
					out = append(out, vfilter.RowToDict(ctx, scope, r))
				}
			}
		}
		b, _ := json.Marshal(out)
		return string(b)
	}
	got, want := run(true), run(false)
	if got != want || want != `[{"V":1,"Twice":2,"SeesQuery":true},{"V":2,"Twice":4,"SeesQuery":true}]` {
		t.Fatalf("Eval: %s\nvql.Eval: %s", got, want)
	}
}
