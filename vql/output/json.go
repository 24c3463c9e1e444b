package output

import (
	"bytes"
	"context"
	"reflect"
	"time"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/protocols"
	"www.velocidex.com/golang/vfilter/types"
)

// This file reproduces how Velociraptor v0.75.2 turns VQL values into
// JSON, so that `vql` output and golden files are byte-for-byte what
// Velociraptor prints:
//
//   - the encoder is github.com/Velocidex/json (a fork of encoding/json
//     with per-type callbacks); it HTML-escapes strings (<, >, & become
//     \u003c, \u003e, \u0026) exactly like encoding/json;
//   - *ordereddict.Dict keeps its key order, a nil value is null and a
//     func() vfilter.Any value is called first; a value that fails to
//     encode (NaN) becomes null;
//   - lazy function wrappers are reduced first;
//   - time.Time and *time.Time are encoded with time.Time.MarshalJSON in
//     UTC, or in the scope's TZ variable when it names a known location
//     (vql/json.go EncOptsFromScope): RFC 3339 with nanoseconds and
//     trailing zeros dropped, "2020-05-31T15:28:05Z",
//     "2023-09-23T09:33:49.72Z";
//   - indentation is json.Indent with prefix "" and indent " " (one space),
//     as vql/json.go MarshalJsonIndent does.

// EncOpts returns encoder options equivalent to Velociraptor's
// EncOptsFromScope: times in loc (nil means UTC).
func EncOpts(loc *time.Location) *json.EncOpts {
	timeCB := func(v interface{}, opts *json.EncOpts) ([]byte, error) {
		switch t := v.(type) {
		case time.Time:
			if loc == nil {
				return t.UTC().MarshalJSON()
			}
			return t.In(loc).MarshalJSON()
		case *time.Time:
			if t == nil {
				return []byte("null"), nil
			}
			if loc == nil {
				return t.UTC().MarshalJSON()
			}
			return t.In(loc).MarshalJSON()
		}
		return nil, json.EncoderCallbackSkip
	}
	return json.NewEncOpts().
		WithCallback(ordereddict.NewDict(), marshalDict).
		WithCallback(&protocols.LazyFunctionWrapper{}, marshalLazy).
		WithCallback(time.Time{}, timeCB).
		WithCallback(&time.Time{}, timeCB)
}

// ScopeLocation is the location named by the scope's TZ variable, or
// nil (UTC) when there is none or it is unknown, as in Velociraptor.
func ScopeLocation(scope vfilter.Scope) *time.Location {
	if scope == nil {
		return nil
	}
	v, pres := scope.Resolve("TZ")
	if !pres {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil
	}
	return loc
}

// MarshalJSON encodes v compactly as Velociraptor does (times in UTC).
func MarshalJSON(v interface{}) ([]byte, error) {
	return json.MarshalWithOptions(v, EncOpts(nil))
}

// MarshalJSONIndent encodes v as Velociraptor's MarshalJsonIndent does
// (times in UTC, one-space indent). Golden output is
// MarshalJSONIndent(rows) where rows is a []vfilter.Row of dicts.
func MarshalJSONIndent(v interface{}) ([]byte, error) {
	return MarshalJSONIndentWithOptions(v, EncOpts(nil))
}

// MarshalJSONForScope is MarshalJSON honouring the scope's TZ variable.
func MarshalJSONForScope(scope vfilter.Scope, v interface{}) ([]byte, error) {
	return json.MarshalWithOptions(v, EncOpts(ScopeLocation(scope)))
}

// MarshalJSONIndentForScope is MarshalJSONIndent honouring the scope's
// TZ variable, exactly vql.MarshalJsonIndent(scope) in Velociraptor.
func MarshalJSONIndentForScope(scope vfilter.Scope, v interface{}) ([]byte, error) {
	return MarshalJSONIndentWithOptions(v, EncOpts(ScopeLocation(scope)))
}

// MarshalJSONIndentWithOptions encodes then indents with one space.
func MarshalJSONIndentWithOptions(v interface{}, opts *json.EncOpts) ([]byte, error) {
	b, err := json.MarshalWithOptions(v, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", " "); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// marshalDict writes a dict as a JSON object in its key order. A nil
// value is null, a func() value is called for its value, and a value
// the encoder rejects (NaN) is null rather than failing the whole row.
func marshalDict(v interface{}, opts *json.EncOpts) ([]byte, error) {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Ptr && reflect.ValueOf(v).IsNil()) {
		return []byte("{}"), nil
	}
	d, ok := v.(*ordereddict.Dict)
	if !ok {
		return nil, json.EncoderCallbackSkip
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for _, item := range d.Items() {
		key, err := json.MarshalWithOptions(item.Key, opts)
		if err != nil {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(encodeValue(item.Value, opts))
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// encodeValue is one dict value's JSON (see marshalDict).
func encodeValue(v interface{}, opts *json.EncOpts) []byte {
	if v == nil {
		v = &vfilter.Null{}
	}
	if f, ok := v.(func() vfilter.Any); ok {
		v = f()
	}
	b, err := json.MarshalWithOptions(v, opts)
	if err != nil {
		return []byte("null")
	}
	return b
}

func marshalLazy(v interface{}, opts *json.EncOpts) ([]byte, error) {
	if lazy, ok := v.(types.LazyExpr); ok {
		return json.MarshalWithOptions(lazy.Reduce(context.Background()), opts)
	}
	return nil, json.EncoderCallbackSkip
}
