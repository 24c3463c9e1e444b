package host

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter/aggregators"
	"www.velocidex.com/golang/vfilter/types"
)

// rowScopeGrouper is vfilter's DefaultGrouper with one fix: every row's
// scope is a child of the query scope and is closed once the row is
// materialized. The default chains each row's scope to the previous one
// and never closes them, so GROUP BY over a large log grew without bound
// (a 200 MB waagent.log passed 3.6 GB). Bins are emitted in first-seen
// order, as vfilter's grouper does.
type rowScopeGrouper struct{}

type aggregateBin struct {
	row     *ordereddict.Dict
	context types.AggregatorCtx
}

func (rowScopeGrouper) Group(
	ctx context.Context, scope types.Scope, actor types.GroupbyActor) <-chan types.Row {
	output := make(chan types.Row)

	go func() {
		defer close(output)

		base := scope.Copy()
		defer base.Close()

		bins := ordereddict.NewDict()
		for {
			row, _, binIdx, rowScope, err := actor.GetNextRow(ctx, base)
			if err != nil {
				break
			}
			var bin *aggregateBin
			if b, ok := bins.Get(binIdx); ok {
				bin = b.(*aggregateBin)
			} else {
				bin = &aggregateBin{context: aggregators.NewAggregatorCtx()}
				bins.Set(binIdx, bin)
			}
			rowScope.SetAggregatorCtx(bin.context)
			bin.row = actor.MaterializeRow(ctx, row, rowScope)
			rowScope.Close()
		}

		for _, key := range bins.Keys() {
			b, _ := bins.Get(key)
			select {
			case <-ctx.Done():
				return
			case output <- b.(*aggregateBin).row:
			}
		}
	}()

	return output
}
