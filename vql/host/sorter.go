package host

import (
	"context"
	"sort"

	vsort "www.velocidex.com/golang/vfilter/sort"
	"www.velocidex.com/golang/vfilter/types"
)

// SortChunkSize is the chunk size Velociraptor v0.75.2 gives its query
// sorter (services/repository/scope.go: sorter.MergeSorter{ChunkSize:
// 10000}).
const SortChunkSize = 10000

// MergeSorter is ORDER BY as Velociraptor v0.75.2 does it
// (vql/sorter/mergesort.go): the rows are sorted in chunks of ChunkSize
// with vfilter's in-memory sorter, then merged, taking the smallest
// value (NULL sorts as "") from the chunks in turn; a tie goes to the
// earlier chunk. While merging, every time it looks at a chunk's next row
// and the row has no ORDER BY column, it logs "Order by column X not
// present in row" (which Velociraptor's golden runner treats as fatal).
// Velociraptor writes full chunks to JSON temporary files and reads them
// back; this sorter keeps them in memory (the same order, the values
// unchanged).
type MergeSorter struct {
	ChunkSize int
}

// Sort implements types.Sorter.
func (self MergeSorter) Sort(ctx context.Context, scope types.Scope,
	input <-chan types.Row, key string, desc bool) <-chan types.Row {
	out := make(chan types.Row)
	chunk := self.ChunkSize
	if chunk <= 0 {
		chunk = SortChunkSize
	}
	go func() {
		defer close(out)
		var chunks []*vsort.DefaultSorterCtx
		current := &vsort.DefaultSorterCtx{Scope: scope, OrderBy: key, Desc: desc}
		feed := func(row types.Row) {
			current.Items = append(current.Items, row)
			if len(current.Items) >= chunk {
				sort.Sort(current)
				chunks = append(chunks, current)
				current = &vsort.DefaultSorterCtx{Scope: scope, OrderBy: key, Desc: desc}
			}
		}
	loop:
		for {
			select {
			case <-ctx.Done():
				// Velociraptor merges what it has on the way out.
				break loop
			case row, ok := <-input:
				if !ok {
					break loop
				}
				feed(row)
			}
		}
		if len(current.Items) > 0 {
			sort.Sort(current)
			chunks = append(chunks, current)
		}
		merge(ctx, scope, chunks, key, desc, out)
	}()
	return out
}

func merge(ctx context.Context, scope types.Scope, chunks []*vsort.DefaultSorterCtx,
	key string, desc bool, out chan<- types.Row) {
	next := make([]int, len(chunks))
	for {
		var smallestValue, smallestRow types.Any
		smallest := -1
		for i, c := range chunks {
			if next[i] >= len(c.Items) {
				continue
			}
			row := c.Items[next[i]]
			if types.IsNil(row) {
				continue
			}
			value, pres := scope.Associative(row, key)
			if !pres {
				scope.Log("Order by column %v not present in row", key)
			}
			if types.IsNil(value) {
				value = ""
			}
			if types.IsNil(smallestValue) {
				smallestValue, smallestRow, smallest = value, row, i
				continue
			}
			if desc {
				if scope.Gt(value, smallestValue) {
					smallestValue, smallestRow, smallest = value, row, i
				}
			} else if scope.Lt(value, smallestValue) {
				smallestValue, smallestRow, smallest = value, row, i
			}
		}
		if smallest < 0 {
			return
		}
		next[smallest]++
		select {
		case <-ctx.Done():
			return
		case out <- smallestRow:
		}
	}
}
