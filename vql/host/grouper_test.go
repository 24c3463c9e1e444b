package host

import (
	"context"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

func TestGroupByAggregates(t *testing.T) {
	scope := NewScope(Options{})
	defer scope.Close()
	q, err := vfilter.Parse(`SELECT X, count() AS N, sum(item=_value) AS S
		FROM foreach(row={SELECT _value FROM range(start=0, end=10000)}, query={SELECT _value, if(condition=_value < 2000, then='a', else=if(condition=_value < 5000, then='b', else='c')) AS X FROM scope()})
		GROUP BY X`)
	if err != nil {
		t.Fatal(err)
	}
	var rows []*ordereddict.Dict
	for row := range q.Eval(context.Background(), scope) {
		rows = append(rows, vfilter.RowToDict(context.Background(), scope, row))
	}
	if len(rows) != 3 {
		t.Fatalf("got %d groups", len(rows))
	}
	// First-seen order a, b, c; sums of 0..1999, 2000..4999, 5000..9999.
	want := []struct {
		x    string
		n, s int64
	}{{"a", 2000, 1999000}, {"b", 3000, 10498500}, {"c", 5000, 37497500}}
	for i, w := range want {
		x, _ := rows[i].GetString("X")
		n, _ := rows[i].GetInt64("N")
		s, _ := rows[i].GetInt64("S")
		if x != w.x || n != w.n || s != w.s {
			t.Errorf("group %d = %v", i, rows[i])
		}
	}
}
