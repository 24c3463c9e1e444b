package vqlkit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
)

var rowCols = []string{"Line", "Time", "Level", "Env", "Pid", "Unparsed"}

func rowValues() []interface{} {
	env := ordereddict.NewDict().Set("ConfigSequenceNumber", "3")
	return []interface{}{int64(7), time.Date(2023, 10, 25, 19, 16, 28, 0, time.UTC), "INFO", env, nil, false}
}

func setRow(values []interface{}) *ordereddict.Dict {
	d := ordereddict.NewDict()
	for i, v := range values {
		d.Set(rowCols[i], v)
	}
	return d
}

// The layout this package mirrors is the one go.mod pins: if an
// ordereddict upgrade changes it, this fails and the mirror is updated
// (rows would still be right, through the slow path).
func TestDictLayoutKnown(t *testing.T) {
	if !dictLayoutKnown() {
		t.Fatal("ordereddict.Dict no longer matches vqlkit.dictLayout: Columns.Row has fallen back to Set")
	}
	type other struct {
		a int
		b string
	}
	if sameLayout(reflect.TypeOf(ordereddict.Dict{}), reflect.TypeOf(other{})) {
		t.Fatal("sameLayout accepted a different struct")
	}
}

// Row must be indistinguishable from the Set-built dict: same contents,
// same JSON, and the same behaviour when a consumer later reads,
// overwrites, adds or deletes columns.
func TestColumnsRowEqualsSet(t *testing.T) {
	c := NewColumns(rowCols...)
	for _, fast := range []bool{true, false} {
		var got *ordereddict.Dict
		if fast {
			got = c.Row(rowValues()...)
		} else {
			got = c.slowRow(rowValues())
		}
		want := setRow(rowValues())
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast=%v: Row = %#v, want %#v", fast, got, want)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("fast=%v: JSON %s, want %s", fast, gj, wj)
		}
		for _, d := range []*ordereddict.Dict{got, want} {
			if v, ok := d.Get("Level"); !ok || v != "INFO" {
				t.Fatalf("Get(Level) = %v %v", v, ok)
			}
			if v, ok := d.Get("Pid"); !ok || v != nil {
				t.Fatalf("Get(Pid) = %v %v, want a present NULL", v, ok)
			}
			d.Set("Level", "ERROR")
			d.Set("_Source", "Linux.Azure.AgentLogs")
			d.Delete("Env")
		}
		gj, _ = json.Marshal(got)
		wj, _ = json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("fast=%v after edits: JSON %s, want %s", fast, gj, wj)
		}
		if !reflect.DeepEqual(got.Keys(), want.Keys()) {
			t.Fatalf("keys %v, want %v", got.Keys(), want.Keys())
		}
	}
	// Rows never share state: editing one leaves the next untouched.
	a, b := c.Row(rowValues()...), c.Row(rowValues()...)
	a.Set("New", 1)
	if _, ok := b.Get("New"); ok || b.Len() != len(rowCols) {
		t.Fatalf("rows share their key index: %v", b.Keys())
	}
}

func TestColumnsMisuse(t *testing.T) {
	mustPanic := func(name string, f func()) {
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("duplicate column", func() { NewColumns("A", "A") })
	mustPanic("short row", func() { NewColumns("A", "B").Row(1) })
}

// ItemsView holds what Items returns: the items in order, without the
// deleted ones, for a Columns row, a Set-built dict, one after Delete
// (then a copy) and one after a new key was added.
func TestItemsView(t *testing.T) {
	c := NewColumns(rowCols...)
	deleted := setRow(rowValues())
	deleted.Delete("Level")
	grown := c.Row(rowValues()...).Set("Extra", "x")
	for _, d := range []*ordereddict.Dict{c.Row(rowValues()...), setRow(rowValues()), deleted, grown, ordereddict.NewDict()} {
		if got, want := ItemsView(d), d.Items(); (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("ItemsView = %v, Items = %v", got, want)
		}
	}
	if got := ItemsView(deleted); len(got) != len(rowCols)-1 {
		t.Errorf("deleted item kept: %v", got)
	}
}
