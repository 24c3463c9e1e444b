package vqlkit

import (
	"maps"
	"reflect"
	"sync"
	"unsafe"

	"github.com/Velocidex/ordereddict"
)

// Columns is a fixed column order for a plugin that emits many rows of
// the same shape (a log parser's millions of records).
//
// Row builds exactly the *ordereddict.Dict that Set-ing each column in
// order builds, at about a third of the cost. ordereddict has no
// pre-sized constructor: sixteen Set calls take sixteen mutex round
// trips, five slice growths and a map rehash, and that was the largest
// single cost of `SELECT count() FROM azure_waagent_log(...)`. Row fills
// the dict's unexported fields directly (one exact-size item slice and a
// clone of a prepared key index) when the linked ordereddict has the
// layout this file was written against, and falls back to Set otherwise;
// the layout is checked once with reflect, so a different ordereddict
// version (a Velociraptor build pins its own) is slower, never wrong.
// Kept because the gain is measured against the public API (NewDict and
// Set, or Copy and Update): docs/performance.md, BenchmarkColumnsRow.
type Columns struct {
	names []string
	index map[string]int
}

// NewColumns fixes the column names, in order. Names must be distinct.
func NewColumns(names ...string) *Columns {
	c := &Columns{names: append([]string(nil), names...), index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := c.index[n]; dup {
			panic("vqlkit.NewColumns: duplicate column " + n)
		}
		c.index[n] = i
	}
	return c
}

// Names are the columns, in order.
func (c *Columns) Names() []string { return append([]string(nil), c.names...) }

// Row is a new dict with values[i] under column i. It panics when the
// number of values is not the number of columns (a programming error,
// caught by any test that builds one row).
func (c *Columns) Row(values ...interface{}) *ordereddict.Dict {
	if len(values) != len(c.names) {
		panic("vqlkit.Columns.Row: wrong number of values")
	}
	if !dictLayoutKnown() {
		return c.slowRow(values)
	}
	items := make([]ordereddict.Item, len(values))
	for i, v := range values {
		items[i] = ordereddict.Item{Key: c.names[i], Value: v}
	}
	d := &ordereddict.Dict{}
	m := (*dictLayout)(unsafe.Pointer(d))
	m.items = items
	m.store = maps.Clone(c.index)
	return d
}

func (c *Columns) slowRow(values []interface{}) *ordereddict.Dict {
	d := ordereddict.NewDict()
	for i, v := range values {
		d.Set(c.names[i], v)
	}
	return d
}

// ItemsView is d.Items() without its copy: d's own item slice when no
// item was deleted (and the layout is the mirrored one), else Items().
// The caller only reads it, and owns d (no one writes d meanwhile, as
// for any row once sent): a writer (vql/output) walks every row's items
// once, and the copy was a 16-column log row's largest allocation there.
func ItemsView(d *ordereddict.Dict) []ordereddict.Item {
	if !dictLayoutKnown() {
		return d.Items()
	}
	items := (*dictLayout)(unsafe.Pointer(d)).items
	for _, it := range items {
		if p, ok := it.Value.(*int); ok && p == &ordereddict.Deleted {
			return d.Items()
		}
	}
	return items
}

// dictLayout mirrors ordereddict.Dict (v0.0.0-20250821063524): the
// embedded mutex, the items in order, the key -> item index map, the
// case-insensitivity flag and the default value.
type dictLayout struct {
	mu               sync.Mutex
	items            []ordereddict.Item
	store            map[string]int
	case_insensitive bool
	default_value    interface{}
}

var dictLayoutKnown = sync.OnceValue(func() bool {
	return sameLayout(reflect.TypeOf(ordereddict.Dict{}), reflect.TypeOf(dictLayout{}))
})

// sameLayout is true when a and b have the same fields (names ignoring
// the embedded mutex's, types, offsets) and size.
func sameLayout(a, b reflect.Type) bool {
	if a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := 0; i < a.NumField(); i++ {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
		if i > 0 && fa.Name != fb.Name {
			return false
		}
	}
	return true
}

// Declared is a plugin that declares its row columns, in order. Every
// azvql plugin is one: plugins/contract_test.go runs each over every
// fixture tree and checks every row's columns against the list.
type Declared interface {
	Columns() []string
}
