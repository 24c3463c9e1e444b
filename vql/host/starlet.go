package host

import (
	"context"
	"reflect"
	"sync"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
	"www.velocidex.com/golang/vfilter/utils"
)

// A stored query `LET X = SELECT * FROM <plugin>` read by a bare
// `SELECT * FROM X` (what an artifact source compiles to: each source is
// `LET <Name> = <query>` then `SELECT * FROM <Name>`) runs vfilter's
// per-row SELECT twice. Eval remembers each such LET (starLets: the
// stored query vfilter put in the scope, and its SELECT), and
// selectStar, finding its FROM names one, evaluates that SELECT through
// selectStar too, as the stored query would (in a copy of the scope).
// The scope keeps vfilter's own stored query, so every other use of X
// (X.Column, foreach(row=X), X(arg=...), a materializing LET) is
// vfilter's.
var starLets sync.Map // types.StoredQuery -> *vfilter.VQL

// rememberStarLet runs the LET statement q (which sets its name in
// scope at once, as vfilter's LET does) and, when it stores a bare
// `SELECT * FROM <plugin>` without parameters, remembers it until scope
// is closed.
func rememberStarLet(ctx context.Context, scope vfilter.Scope, q *vfilter.VQL) <-chan vfilter.Row {
	rows := q.Eval(ctx, scope)
	if q.LetOperator != "=" || q.Parameters != nil || q.StoredQuery == nil {
		return rows
	}
	inner := &vfilter.VQL{Query: q.StoredQuery}
	if !bareStar(inner) {
		return rows
	}
	v, ok := scope.Resolve(utils.Unquote_ident(q.Let))
	sq, isSQ := v.(types.StoredQuery)
	if !ok || !isSQ || !byPointer(sq) {
		return rows
	}
	starLets.Store(sq, inner)
	if scope.AddDestructor(func() { starLets.Delete(sq) }) != nil {
		starLets.Delete(sq) // the scope is already closed
	}
	return rows
}

// starFrom evaluates a SELECT's FROM as vfilter's Plugin.Eval does,
// except that a remembered stored query (named alone, not called) runs
// through selectStar in a copy of scope, as vfilter's stored query
// runs its SELECT. made says the rows are then selectStar's own: new
// dicts that a `SELECT *` over them would copy unchanged.
func starFrom(ctx context.Context, scope vfilter.Scope, p *vfilter.Plugin) (rows <-chan vfilter.Row, made bool) {
	if !p.Call {
		if parts := utils.SplitIdent(p.Name); len(parts) == 1 {
			if sym, ok := scope.Associative(scope, parts[0]); ok {
				if sq, ok := sym.(types.StoredQuery); ok && byPointer(sq) {
					if inner, ok := starLets.Load(sq); ok {
						if scope.CheckForOverflow() { // logged there; vfilter's stored query gives no rows
							none := make(chan vfilter.Row)
							close(none)
							return none, false
						}
						sub := scope.Copy()
						return selectStarThen(ctx, sub, inner.(*vfilter.VQL), sub.Close), true
					}
				}
			}
		}
	}
	return p.Eval(ctx, scope), false
}

// byPointer: sq is a pointer, so it can key starLets (a stored query of
// another kind may be a value that cannot be hashed).
func byPointer(sq types.StoredQuery) bool {
	return reflect.TypeOf(sq).Kind() == reflect.Pointer
}
