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
