package timeline

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/Velocidex/ordereddict"
)

// A source row (Detail) and a spilled timeline row are kept in a small
// typed binary form: faster than JSON both ways, and a value reads back
// with the type it had (a time stays a time, not a string), so a spilled
// row is the row that was held in memory.

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagUint
	tagFloat
	tagString
	tagTime
	tagList
	tagDict
	tagJSON // any other type, as its JSON
)

// maxDepth bounds nesting on decode (a damaged temp file must not
// recurse without end).
const maxDepth = 64

func appendUvarint(b []byte, n uint64) []byte { return binary.AppendUvarint(b, n) }

func appendString(b []byte, s string) []byte {
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue encodes v.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil)
	case bool:
		if x {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case int64:
		return binary.AppendVarint(append(b, tagInt), x)
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int32:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int16:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case int8:
		return binary.AppendVarint(append(b, tagInt), int64(x))
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint64:
		return binary.AppendUvarint(append(b, tagUint), x)
	case uint32:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint16:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case uint8:
		return binary.AppendUvarint(append(b, tagUint), uint64(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(x))
	case string:
		return appendString(append(b, tagString), x)
	case time.Time:
		b = binary.AppendVarint(append(b, tagTime), x.Unix())
		return appendUvarint(b, uint64(x.Nanosecond()))
	case *time.Time:
		if x == nil {
			return append(b, tagNil)
		}
		return appendValue(b, *x)
	case *ordereddict.Dict:
		if x == nil {
			return append(b, tagNil)
		}
		keys := x.Keys()
		b = appendUvarint(append(b, tagDict), uint64(len(keys)))
		for _, k := range keys {
			e, _ := x.Get(k)
			b = appendValue(appendString(b, k), e)
		}
		return b
	case []string:
		b = appendUvarint(append(b, tagList), uint64(len(x)))
		for _, s := range x {
			b = appendString(append(b, tagString), s)
		}
		return b
	case []any:
		b = appendUvarint(append(b, tagList), uint64(len(x)))
		for _, e := range x {
			b = appendValue(b, e)
		}
		return b
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		b = appendUvarint(append(b, tagList), uint64(rv.Len()))
		for i := 0; i < rv.Len(); i++ {
			b = appendValue(b, rv.Index(i).Interface())
		}
		return b
	}
	j, err := json.Marshal(v)
	if err != nil {
		j, _ = json.Marshal(fmt.Sprint(v))
	}
	return appendString(append(b, tagJSON), string(j))
}

var errCorrupt = errors.New("corrupt encoded value")

type decoder struct {
	b     []byte
	depth int
}

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, errCorrupt
	}
	d.b = d.b[k:]
	return n, nil
}

func (d *decoder) str() (string, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return "", errCorrupt
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s, nil
}

// count is a list's or dict's length: each element takes at least a
// byte, so a length past what is left is corrupt (no huge allocation).
func (d *decoder) count() (int, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return 0, errCorrupt
	}
	return int(n), nil
}

// value decodes one value. It is long because it is one switch over the
// tags appendValue writes.
func (d *decoder) value() (any, error) {
	if len(d.b) == 0 {
		return nil, errCorrupt
	}
	tag := d.b[0]
	d.b = d.b[1:]
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt:
		n, k := binary.Varint(d.b)
		if k <= 0 {
			return nil, errCorrupt
		}
		d.b = d.b[k:]
		return n, nil
	case tagUint:
		return d.uvarint()
	case tagFloat:
		if len(d.b) < 8 {
			return nil, errCorrupt
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f, nil
	case tagString:
		return d.str()
	case tagTime:
		sec, k := binary.Varint(d.b)
		if k <= 0 {
			return nil, errCorrupt
		}
		d.b = d.b[k:]
		ns, err := d.uvarint()
		if err != nil || ns >= 1e9 {
			return nil, errCorrupt
		}
		return time.Unix(sec, int64(ns)).UTC(), nil
	case tagList, tagDict:
		return d.container(tag == tagDict)
	case tagJSON:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return s, nil
		}
		return v, nil
	}
	return nil, errCorrupt
}

func (d *decoder) container(dict bool) (any, error) {
	if d.depth++; d.depth > maxDepth {
		return nil, errCorrupt
	}
	defer func() { d.depth-- }()
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	if dict {
		out := ordereddict.NewDict()
		for i := 0; i < n; i++ {
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			out.Set(k, v)
		}
		return out, nil
	}
	out := make([]any, 0, n)
	for i := 0; i < n; i++ {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// decodeValue is the one value b holds.
func decodeValue(b []byte) (any, error) {
	d := &decoder{b: b}
	v, err := d.value()
	if err == nil && len(d.b) != 0 {
		err = errCorrupt
	}
	return v, err
}
