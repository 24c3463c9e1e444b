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
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, jsonErr(err, dec)
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, fmt.Errorf("unexpected data after the JSON document at offset %d", dec.InputOffset())
	}
	return v, nil
}

func jsonErr(err error, dec *json.Decoder) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("truncated JSON (ends at offset %d)", dec.InputOffset())
	}
	return fmt.Errorf("invalid JSON near offset %d: %v", dec.InputOffset(), err)
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return decodeToken(dec, t, depth)
}

func decodeToken(dec *json.Decoder, t json.Token, depth int) (any, error) {
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
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				d.Set(k, val)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return d, nil
		case '[':
			arr := []any{}
			for dec.More() {
				val, err := decodeValue(dec, depth+1)
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
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return string(v), nil
		}
		return f, nil
	}
	return t, nil // string, bool, nil
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
