package host

import (
	"context"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// ReadOnlyRow is vfilter.RowToDict for a caller that only reads the
// result (an output writer): when the row is already a dict whose values
// RowToDict would pass through unchanged (strings, numbers, bools, times,
// dicts, NULL objects), it is returned as it is instead of copied key by
// key. Every `SELECT count() FROM ...` row and most plugin rows take
// this path; anything else (nil, lazy values, stored queries, slices,
// maps, structs) goes through RowToDict, so the result is always what
// RowToDict would give, value for value. Callers that change the row
// (adding _Source) must use RowToDict.
func ReadOnlyRow(ctx context.Context, scope vfilter.Scope, row vfilter.Row) *ordereddict.Dict {
	if d, ok := row.(*ordereddict.Dict); ok && plainValues(d) {
		return d
	}
	return vfilter.RowToDict(ctx, scope, row)
}

// plainValues: every live item (Items skips deleted ones, as RowToDict
// does) holds a value RowToDict returns as is, and the dict answers Get
// as RowToDict's copy would: case-sensitive, no default value.
func plainValues(d *ordereddict.Dict) bool {
	if d.IsCaseInsensitive() || d.GetDefault() != nil {
		return false
	}
	for _, it := range d.Items() {
		switch it.Value.(type) {
		case string, types.Null, *types.Null, bool, float64, int, uint,
			int8, int16, int32, int64, uint8, uint16, uint32, uint64,
			time.Time, *time.Time, *ordereddict.Dict:
		default:
			return false
		}
	}
	return true
}

// Eval runs one statement as vql.Eval does, for a caller that ranges
// over the result in the same goroutine. For a SELECT, vql.Eval sets up
// the same subscope (with $Query) and then copies every row through one
// more goroutine and unbuffered channel; reading the SELECT's channel
// directly saves that hand-off, about 10% of a `SELECT count() FROM`
// over a million rows. done must be called after the channel is drained
// (or the context cancelled); it closes the subscope, as vql.Eval's
// goroutine does.
func Eval(ctx context.Context, scope vfilter.Scope, vql *vfilter.VQL) (rows <-chan vfilter.Row, done func()) {
	if vql.Let != "" {
		return rememberStarLet(ctx, scope, vql), func() {}
	}
	if vql.Query == nil {
		return vql.Eval(ctx, scope), func() {}
	}
	subscope := scope.Copy()
	subscope.AppendVars(ordereddict.NewDict().Set("$Query", vfilter.FormatToString(scope, vql)))
	if rows := selectStar(ctx, subscope, vql); rows != nil {
		return rows, subscope.Close
	}
	return vql.Query.Eval(ctx, subscope), subscope.Close
}

// RowCopier is vfilter.RowToDict for a caller that changes the result
// (RunRequest's emit adds _Source): a dict row of plain values (those
// ReadOnlyRow passes, and lists of them) is copied into a new
// dict directly, rows of one column layout sharing one vqlkit.Columns;
// the lists are rebuilt as RowToDict rebuilds them ([]types.Any, a nil
// element NULL). Any other row goes through RowToDict, so the result is
// always RowToDict's, value for value (TestRowCopierMatchesRowToDict).
type RowCopier struct{ layout columnCache }

// Copy returns a new dict holding what RowToDict would make of row.
func (c *RowCopier) Copy(ctx context.Context, scope vfilter.Scope, row vfilter.Row) *ordereddict.Dict {
	d, ok := row.(*ordereddict.Dict)
	if !ok || d == nil || d.IsCaseInsensitive() || d.GetDefault() != nil {
		return vfilter.RowToDict(ctx, scope, row)
	}
	items := d.Items()
	if len(items) == 0 {
		return ordereddict.NewDict()
	}
	if out, ok := c.layout.build(items, topValue); ok {
		return out
	}
	return vfilter.RowToDict(ctx, scope, row)
}

// topValue is copiedValue for a row's own item.
func topValue(v any) (any, bool) { return copiedValue(v, 0) }

// copiedValue is RowToDict's value for v (its dict protocol then its
// normalization) when v is plain or a list of plain values; ok is false
// for anything else. The dict protocol makes a nil or a nil pointer,
// and any *types.Null, NULL; inside a list only a nil becomes NULL.
// depth bounds nested lists well below RowToDict's own limit (10), past
// which it makes NULL.
func copiedValue(v any, depth int) (any, bool) {
	top := depth == 0
	switch t := v.(type) {
	case nil:
		return types.Null{}, true
	case string, types.Null, bool, float64, int, uint, int8, int16, int32, int64,
		uint8, uint16, uint32, uint64, time.Time:
		return v, true
	case *types.Null:
		if top {
			return types.Null{}, true
		}
		return v, true
	case *time.Time:
		if top && t == nil {
			return types.Null{}, true
		}
		return v, true
	case *ordereddict.Dict:
		if top && t == nil {
			return types.Null{}, true
		}
		return v, true
	case []any:
		return copiedList(t, depth)
	case []types.Any:
		return copiedList(t, depth)
	}
	return nil, false
}

// copiedList is RowToDict's copy of a non-nil list: []types.Any, each
// element normalized.
func copiedList[E any](l []E, depth int) (any, bool) {
	if l == nil || depth >= 8 {
		return nil, false
	}
	out := make([]types.Any, 0, len(l))
	for _, e := range l {
		c, ok := copiedValue(any(e), depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, true
}
