package extensions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 128

var errTooDeep = errors.New("JSON nested too deeply")

// decodeJSON parses one JSON document into *ordereddict.Dict (key order
// kept), []any, string, int64, float64, bool or nil. Unlike
// ordereddict's own decoder it leaves strings alone (no guessing of
// timestamps) and bounds nesting. Trailing garbage after the document is
// an error.
func decodeJSON(data []byte) (any, error) {
	v, _, err := decodeJSONDups(data)
	return v, err
}

// decodeJSONDups is decodeJSON that also returns the keys an object
// holds twice. Of a duplicated key the last value is kept: that is what
// the programs that act on these files read (the Go handlers'
// encoding/json, the Linux agent's Python json, the Windows agent's and
// handlers' .NET Newtonsoft.Json all keep the last), so the row shows
// what was acted on, and the Dup carries the value that was dropped.
func decodeJSONDups(data []byte) (any, []Dup, error) {
	if v, dups, ok := scanJSON(data); ok {
		return v, dups, nil
	}
	return decodeJSONTokens(data)
}

// decodeJSONTokens is decodeJSONDups through encoding/json's tokenizer:
// the reference scanJSON must agree with, and the path that words the
// errors of invalid input.
func decodeJSONTokens(data []byte) (any, []Dup, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	st := &jstate{}
	v, err := decodeValue(dec, 0, st)
	if err != nil {
		return nil, st.dups, jsonErr(err, dec)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, st.dups, fmt.Errorf("unexpected data after the JSON document at offset %d", dec.InputOffset())
	}
	return v, st.dups, nil
}

// jstate is the decoder's state: the duplicates found and the path to
// the value being decoded (a stack, made into text only for a message).
type jstate struct {
	dups []Dup
	path []jelem
}

type jelem struct {
	key   string
	index int // -1 for an object member
}

func (st *jstate) pathString() string {
	var b strings.Builder
	b.WriteString("$")
	for _, e := range st.path {
		if e.index >= 0 {
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		} else {
			b.WriteString("." + e.key)
		}
	}
	return b.String()
}

// set sets d[k] = val, noting a duplicate (exact, or only in case) with
// the path of d (the top of st.path).
func (st *jstate) set(d *ordereddict.Dict, k string, val any) {
	if len(st.dups) < maxDups {
		if old, ok := d.Get(k); ok {
			st.dups = append(st.dups, Dup{Path: st.pathString(), Key: k, First: old, Last: val})
		} else if d.Len() <= 64 { // bounded: hostile objects with many keys
			for _, o := range d.Keys() {
				if strings.EqualFold(o, k) {
					ov, _ := d.Get(o)
					st.dups = append(st.dups, Dup{Path: st.pathString(), Key: k, Other: o, First: ov, Last: val})
					break
				}
			}
		}
	}
	d.Set(k, val)
}

// maxDups bounds the duplicates remembered per document (hostile input).
const maxDups = 32

// Dup is a key written twice in one JSON object (or twice in letters
// that differ only in case, which Go's encoding/json, matching struct
// fields case-insensitively, also reads as one key).
type Dup struct {
	Path        string // JSON path of the object: $.runtimeSettings[0].handlerSettings.publicSettings
	Key, Other  string // the key kept, and the other spelling when only the case differs
	First, Last any    // the dropped value and the kept one
}

// Message says what was duplicated and what each reader keeps; values
// are redacted when red is set.
func (d Dup) Message(red bool) string {
	first, last := d.First, d.Last
	if red {
		first = redact.Value(map[string]any{d.Key: first}).(map[string]any)[d.Key]
		last = redact.Value(map[string]any{d.Key: last}).(map[string]any)[d.Key]
	}
	if d.Other != "" {
		return fmt.Sprintf("keys %q and %q in %s differ only in case: values %s, then %s; handlers that match "+
			"names case-insensitively (Go encoding/json, .NET Newtonsoft.Json into a class) act on the one written last; "+
			"the row's columns read the spelling they look for exactly",
			d.Other, d.Key, d.Path, shortJSON(first), shortJSON(last))
	}
	return fmt.Sprintf("key %q written twice in %s: first %s, then %s; the last is kept, as Go encoding/json, "+
		"Python json and .NET Newtonsoft.Json read it", d.Key, d.Path, shortJSON(first), shortJSON(last))
}

func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "...(" + strconv.Itoa(len(b)) + " bytes)"
	}
	return string(b)
}

func jsonErr(err error, dec *json.Decoder) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated JSON (ends at offset %d)", dec.InputOffset())
	}
	return fmt.Errorf("invalid JSON near offset %d: %v", dec.InputOffset(), err)
}

func decodeValue(dec *json.Decoder, depth int, st *jstate) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return decodeToken(dec, t, depth, st)
}

func decodeToken(dec *json.Decoder, t json.Token, depth int, st *jstate) (any, error) {
	switch v := t.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		switch v {
		case '{':
			d := ordereddict.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				st.path = append(st.path, jelem{k, -1})
				val, err := decodeValue(dec, depth+1, st)
				st.path = st.path[:len(st.path)-1]
				if err != nil {
					return nil, err
				}
				st.set(d, k, val)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return d, nil
		case '[':
			arr := []any{}
			for dec.More() {
				st.path = append(st.path, jelem{"", len(arr)})
				val, err := decodeValue(dec, depth+1, st)
				st.path = st.path[:len(st.path)-1]
				if err != nil {
					return nil, err
				}
				arr = append(arr, val)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %q", v)
	case json.Number:
		return jsonNumber(string(v)), nil
	}
	return t, nil // string, bool, nil
}

// jsonNumber is a JSON number's value: int64 when it is one, else
// float64, else (out of range) its text.
func jsonNumber(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return f
}

// get looks a key up in a dict, exactly first, then case-insensitively.
func get(d *ordereddict.Dict, key string) (any, bool) { return vqlkit.GetFold(d, key) }

// getDict returns d[key] when it is an object.
func getDict(d *ordereddict.Dict, key string) *ordereddict.Dict {
	v, _ := get(d, key)
	r, _ := v.(*ordereddict.Dict)
	return r
}

// getStr returns d[key] when it is a string (or a number, formatted).
func getStr(d *ordereddict.Dict, key string) (string, bool) {
	v, ok := get(d, key)
	if !ok {
		return "", false
	}
	return asString(v)
}

func asString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	}
	return "", false
}

// asInt accepts an integer, an integral float or a decimal string.
func asInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case float64:
		if t == float64(int64(t)) {
			return int64(t), true
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

var errNotObject = errors.New("no JSON object found")
