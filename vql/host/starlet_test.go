package host

import (
	"context"
	"testing"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// Eval remembers a source-style `LET X = SELECT * FROM <plugin>` (and
// only that) until its scope closes, and starFrom finds it by name.
func TestStarLetRemembered(t *testing.T) {
	scope := NewScope(Options{})
	count := func() int {
		n := 0
		starLets.Range(func(any, any) bool { n++; return true })
		return n
	}
	before := count()
	for q, want := range map[string]bool{
		"LET A = SELECT * FROM range(end=3)":              true,
		"LET B = SELECT * FROM range(end=3) WHERE _value": false,
		"LET C <= SELECT * FROM range(end=3)":             false,
		"LET D(x) = SELECT * FROM range(end=3)":           false,
		"LET E = SELECT _value FROM range(end=3)":         false,
	} {
		stmts, err := vfilter.MultiParse(q)
		if err != nil {
			t.Fatal(err)
		}
		rows, done := Eval(context.Background(), scope, stmts[0])
		for range rows {
		}
		done()
		name := stmts[0].Let
		sym, _ := scope.Resolve(name)
		sq, _ := sym.(types.StoredQuery)
		_, got := starLets.Load(sq)
		if sq == nil {
			got = false
		}
		if got != want {
			t.Errorf("%s: remembered %v, want %v", q, got, want)
		}
	}
	var n int
	q, _ := vfilter.MultiParse("SELECT * FROM A")
	rows, done := Eval(context.Background(), scope, q[0])
	for range rows {
		n++
	}
	done()
	if n != 3 {
		t.Errorf("SELECT * FROM A: %d rows, want 3", n)
	}
	scope.Close()
	if after := count(); after != before {
		t.Errorf("%d stored queries still remembered after the scope closed", after-before)
	}
}
