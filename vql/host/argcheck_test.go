package host

import (
	"context"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/functions"
	"www.velocidex.com/golang/vfilter/types"
)

type lines struct{ got []string }

func (l *lines) Write(b []byte) (int, error) { l.got = append(l.got, string(b)); return len(b), nil }

// vfilter's own built-ins reject what they would otherwise ignore, and
// aggregates keep working through the wrapper (Copy).
func TestVfilterBuiltinsChecked(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"SELECT split(strin='a', sep=',') FROM scope()", `ERROR:split: unexpected argument "strin" (valid arguments: string (required), sep, sep_string)`},
		{"SELECT * FROM foreach(query={SELECT 1 FROM scope()})", `ERROR:foreach: missing required argument "row"`},
		{"SELECT * FROM range(end=2, stepp=1)", `ERROR:range: unexpected argument "stepp"`},
	} {
		rows, logged := runLogged(t, c.query)
		if !strings.Contains(strings.Join(logged, ""), c.want) {
			t.Errorf("%s: log %q lacks %q (rows %v)", c.query, logged, c.want, rows)
		}
	}
	rows, logged := runLogged(t, "SELECT count() AS N, sum(item=_value) AS S FROM range(start=1, end=4, step=1) GROUP BY 1")
	if len(rows) != 1 || len(logged) != 0 {
		t.Fatalf("aggregate: %v %v", rows, logged)
	}
	n, _ := rows[0].Get("N")
	sum, _ := rows[0].Get("S")
	if fmt.Sprint(n) != "3" || fmt.Sprint(sum) != "6" {
		t.Errorf("count() through the wrapper: %v", rows[0])
	}
}

func runLogged(t *testing.T, query string) ([]*ordereddict.Dict, []string) {
	t.Helper()
	l := &lines{}
	scope := NewScope(Options{Logger: log.New(l, "", 0)})
	defer scope.Close()
	vql, err := vfilter.Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	ctx := context.Background()
	for row := range vql.Eval(ctx, scope) {
		rows = append(rows, vfilter.RowToDict(ctx, scope, row))
	}
	return rows, l.got
}

// BenchmarkCheckedFunction is the wrapper's cost on a vfilter function
// call (split() with its two arguments), against the bare call.
func BenchmarkCheckedFunction(b *testing.B) {
	scope := vfilter.NewScope()
	var split types.FunctionInterface
	for _, f := range functions.GetBuiltinFunctions() {
		if f.Info(scope, types.NewTypeMap()).Name == "split" {
			split = f
		}
	}
	typeMap := types.NewTypeMap()
	sig, _ := signature(scope, typeMap, split.Info(scope, typeMap).ArgType)
	checked := checkedFunction{FunctionInterface: split, name: "split", sig: sig}
	args := ordereddict.NewDict().Set("string", "a,b,c").Set("sep", ",")
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			split.Call(ctx, scope, args)
		}
	})
	b.Run("checked", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			checked.Call(ctx, scope, args)
		}
	})
}
