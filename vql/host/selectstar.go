package host

import (
	"context"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// selectStar runs a bare `SELECT * FROM <plugin>` (no other column, no
// WHERE, GROUP BY, ORDER BY, LIMIT or EXPLAIN): nil when q is anything
// else. vfilter's SELECT gives each row a scope copy, a lazy row with a
// getter per column and a materialized copy (about 4 µs for a 16-column
// log row, the larger part of `SELECT * FROM azure_waagent_log(...)`),
// and one more goroutine hand-off. What that yields for a dict of plain
// values is a new dict with the same keys in the same order and the same
// values, a nil one made NULL (types.Null{}, as vfilter's dict protocol
// reads it): selectStar builds exactly that directly. Any other row
// (lazy values, stored queries, structs, ...) goes through vfilter's own
// transform and materialization, as in vfilter's SELECT.
// TestSelectStarMatchesVfilter compares both on every kind of row.
func selectStar(ctx context.Context, scope vfilter.Scope, q *vfilter.VQL) <-chan vfilter.Row {
	return selectStarThen(ctx, scope, q, nil)
}

// bareStar: q is `SELECT * FROM <plugin>` and nothing else.
func bareStar(q *vfilter.VQL) bool {
	sel := q.Query
	return !(sel == nil || sel.Explain != nil || sel.SelectExpression == nil || !sel.SelectExpression.All ||
		len(sel.SelectExpression.Expressions) != 0 || sel.From == nil || sel.Where != nil ||
		sel.GroupBy != nil || sel.OrderBy != nil || sel.Limit != nil)
}

// selectStarThen is selectStar calling after (when not nil) once its
// rows are sent.
func selectStarThen(ctx context.Context, scope vfilter.Scope, q *vfilter.VQL, after func()) <-chan vfilter.Row {
	if !bareStar(q) {
		return nil
	}
	sel := q.Query
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		if after != nil {
			defer after()
		}
		scope.Explainer().StartQuery(sel)
		var c starCopier
		// From's own goroutine is skipped too: its per-row accounting
		// is done here.
		rows, made := starFrom(ctx, scope, &sel.From.Plugin)
		for {
			// Waiting on ctx too: a plugin that never closes its
			// channel (foreach blocked in its worker pool) must not
			// outlive a cancelled or timed-out query, as it does not
			// in vfilter's SELECT.
			var row vfilter.Row
			var more bool
			select {
			case <-ctx.Done():
				return
			case row, more = <-rows:
			}
			if !more {
				return
			}
			scope.GetStats().IncRowsScanned()
			scope.ChargeOp()
			if ctx.Err() != nil {
				return
			}
			scope.Explainer().PluginOutput(&sel.From.Plugin, row)
			if d, ok := row.(*ordereddict.Dict); made && ok && !methodKeys(d) { // already what SELECT * makes of a row, and nobody else's
				if !vqlkit.Send(ctx, out, d) {
					return
				}
				scope.Explainer().SelectOutput(d)
				continue
			}
			if d, ok := c.copy(row); ok {
				if !vqlkit.Send(ctx, out, d) {
					return
				}
				scope.Explainer().SelectOutput(d)
				continue
			}
			// As vfilter's processSingleRow without WHERE.
			sub := scope.Copy()
			tr, closer := sel.SelectExpression.Transform(ctx, sub, row)
			m := vfilter.MaterializedLazyRow(ctx, tr, sub)
			ok := vqlkit.Send(ctx, out, m)
			closer()
			sub.Close()
			if !ok {
				return
			}
			scope.Explainer().SelectOutput(m)
		}
	}()
	return out
}

// starCopier copies dict rows of plain values; rows of the same columns
// (a plugin's) share one vqlkit.Columns.
type starCopier struct{ layout columnCache }

// copy is the row `SELECT *` makes of row, when row is a dict of plain
// values; ok is false for any other row.
func (c *starCopier) copy(row vfilter.Row) (*ordereddict.Dict, bool) {
	d, ok := row.(*ordereddict.Dict)
	if !ok || d == nil {
		return nil, false
	}
	items := vqlkit.ItemsView(d) // read only: the copy below is the new row
	if len(items) == 0 {
		return nil, false
	}
	return c.layout.build(items, starValue)
}

// columnCache builds new dicts from rows' items, each value converted,
// rows of one column layout (a plugin's) sharing one vqlkit.Columns.
type columnCache struct {
	names []string
	cols  *vqlkit.Columns
	vals  []any
}

// build is the new dict of items with conv applied to every value; ok is
// false when a key is a dict method (@Keys, @Items, ...: answered by the
// dict, not its items), repeats (not from ordereddict's own API), or conv
// refuses a value: the caller then takes vfilter's own path.
func (c *columnCache) build(items []ordereddict.Item, conv func(any) (any, bool)) (*ordereddict.Dict, bool) {
	same := len(items) == len(c.names)
	vals := c.vals[:0]
	for i, it := range items {
		if strings.HasPrefix(it.Key, "@") {
			return nil, false
		}
		v, ok := conv(it.Value)
		if !ok {
			return nil, false
		}
		vals = append(vals, v)
		if same && c.names[i] != it.Key {
			same = false
		}
	}
	c.vals = vals
	if !same {
		seen := make(map[string]bool, len(items))
		names := make([]string, 0, len(items))
		for _, it := range items {
			if seen[it.Key] {
				return nil, false
			}
			seen[it.Key] = true
			names = append(names, it.Key)
		}
		c.names, c.cols = names, vqlkit.NewColumns(names...)
	}
	return c.cols.Row(vals...), true
}

// methodKeys: d has a key like "@Values", which vfilter's dict protocol
// would answer with a method of the dict rather than the item: a row
// holding one is copied through the protocol, as vfilter does.
func methodKeys(d *ordereddict.Dict) bool {
	for _, it := range vqlkit.ItemsView(d) {
		if strings.HasPrefix(it.Key, "@") {
			return true
		}
	}
	return false
}

// starValue is a dict item's value as vfilter's dict protocol returns it
// (nil and *types.Null as types.Null{}), for the values it returns
// unchanged; ok is false for any other (lazy values, stored queries,
// typed nils, other slices, maps, structs).
func starValue(v any) (any, bool) {
	switch t := v.(type) {
	case nil, types.Null, *types.Null: // types.IsNil: a NULL of either kind is types.Null{}
		return types.Null{}, true
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, time.Time:
		return v, true
	case *ordereddict.Dict:
		return v, t != nil
	case []any: // a list column (Files, FileUris): vfilter's dict protocol returns it as it is, a nil one as NULL
		if t == nil {
			return types.Null{}, true
		}
		return v, true
	}
	return nil, false
}
