package evtxwriter

import (
	"fmt"
	"math"
	"time"

	"github.com/Velocidex/ordereddict"
)

// FromParsed builds a record that the Velocidex parser reads back as
// event, the Event dict it produced for some record (System, then
// EventData or UserData): System in the outer template, the rest in a
// nested BinXml fragment as Windows writes them, each value typed from
// its Go type. It is how the tests re-write every record of the real
// samples; it also makes a fixture from an exported event.
func FromParsed(event *ordereddict.Dict) (Record, error) {
	root := &Node{Name: "Event", Attrs: []Attr{Lit("xmlns", EventXMLNS)}}
	var rec Record
	for _, k := range event.Keys() {
		v, _ := event.Get(k)
		if k == "Message" {
			continue // added by the plugin, not in the record
		}
		if k == "System" {
			n, err := fromValue(k, v)
			if err != nil {
				return rec, err
			}
			root.Children = append(root.Children, n...)
			if sys, ok := v.(*ordereddict.Dict); ok {
				id, _ := ordereddict.GetInt(sys, "EventRecordID")
				rec.ID = uint64(id)
				if t, ok := ordereddict.GetAny(sys, "TimeCreated.SystemTime"); ok {
					if f, ok := t.(float64); ok {
						rec.Written = time.Unix(0, 0).Add(time.Duration(f * 1e9)).UTC()
					}
				}
			}
			continue
		}
		if root.Tail != nil {
			return rec, fmt.Errorf("more than one element after System (%s)", k)
		}
		n, err := dataFromValue(k, v)
		if err != nil {
			return rec, err
		}
		tail := BinXML(n)
		root.Tail = &tail
	}
	rec.Event = root
	return rec, nil
}

// dataFromValue builds EventData (or UserData): a dict that is not a
// list of Data elements is what the parser made of named Data values
// (NormalizeEventData), so it is written back in that form.
func dataFromValue(name string, v interface{}) (*Node, error) {
	d, ok := v.(*ordereddict.Dict)
	if name == "EventData" && ok && d.Len() > 1 {
		if _, has := d.Get("Data"); !has {
			n := &Node{Name: name, Normal: true}
			for _, k := range d.Keys() {
				x, _ := d.Get(k)
				val, err := typed(x)
				if err != nil {
					return nil, fmt.Errorf("EventData %s: %v", k, err)
				}
				n.Children = append(n.Children, Elem("Data", val, Lit("Name", k)))
			}
			return n, nil
		}
	}
	nodes, err := fromValue(name, v)
	if err != nil {
		return nil, err
	}
	if len(nodes) != 1 {
		return nil, fmt.Errorf("%s: not one element", name)
	}
	return nodes[0], nil
}

// fromValue turns one parsed value back into elements: a dict becomes
// an element (scalars before any child as attributes, "Value" as its
// content), a list of repeated elements becomes siblings, a scalar an
// element holding it.
func fromValue(name string, v interface{}) ([]*Node, error) {
	switch t := v.(type) {
	case *ordereddict.Dict:
		n := &Node{Name: name}
		keys := t.Keys()
		if len(keys) == 0 {
			// All of its attributes were null: write one null.
			n.Attrs = []Attr{Sub("Null", Null())}
			return []*Node{n}, nil
		}
		if len(keys) == 1 && keys[0] == "Value" {
			x, _ := t.Get("Value")
			c, err := fromValue("Value", x)
			if err != nil {
				return nil, err
			}
			n.Children = c
			return []*Node{n}, nil
		}
		content := false
		for _, k := range keys {
			x, _ := t.Get(k)
			_, isDict := x.(*ordereddict.Dict)
			_, isList := x.([]interface{})
			if k == "Value" && !isDict && !isList {
				val, err := typed(x)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %v", name, k, err)
				}
				if len(n.Children) > 0 {
					n.Tail = &val
				} else {
					n.Text = &val
				}
				content = true
				continue
			}
			if !content && len(n.Children) == 0 && !isDict && !isList {
				val, err := typed(x)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %v", name, k, err)
				}
				n.Attrs = append(n.Attrs, Sub(k, val))
				continue
			}
			c, err := fromValue(k, x)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c...)
		}
		return []*Node{n}, nil
	case []interface{}:
		var out []*Node
		for _, x := range t {
			c, err := fromValue(name, x)
			if err != nil {
				return nil, err
			}
			out = append(out, c...)
		}
		return out, nil
	}
	val, err := typed(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return []*Node{Elem(name, val)}, nil
}

// typed picks the substitution type the parser renders as v.
func typed(v interface{}) (Value, error) {
	switch t := v.(type) {
	case string:
		return String(t), nil
	case uint8:
		return UInt8(t), nil
	case uint16:
		return UInt16(t), nil
	case uint32:
		return UInt32(t), nil
	case uint64:
		return UInt64(t), nil
	case int32:
		return Int32(t), nil
	case int64:
		return Int64(t), nil
	case float32:
		return Real32(t), nil
	case float64:
		if ft, ok := fileTimeFor(t); ok {
			return FileTimeTicks(ft), nil
		}
		return Real64(t), nil
	case bool:
		return Bool(t), nil
	case []byte:
		return Binary(t), nil
	case []string:
		return StringArray(t), nil
	case []uint16:
		return UInt16Array(t), nil
	case []uint64:
		return UInt64Array(t), nil
	}
	return Value{}, fmt.Errorf("no substitution type for %T", v)
}

// fileTimeFor finds the FILETIME the parser renders as the float f
// (seconds since 1970), if there is one: times are written as Windows
// writes them, not as doubles.
func fileTimeFor(f float64) (uint64, bool) {
	if f < 0 || f > 1e11 || math.IsNaN(f) {
		return 0, false
	}
	guess := uint64(math.Round(f*1e7)) + 116444736000000000
	for d := uint64(0); d < 64; d++ {
		for _, ft := range []uint64{guess + d, guess - d} {
			if (float64(ft)-11644473600000*10000)/10000000 == f {
				return ft, true
			}
		}
	}
	return 0, false
}
