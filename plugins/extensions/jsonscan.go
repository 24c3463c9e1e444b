package extensions

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// scanJSON is decodeJSONTokens for a well-formed document, in one pass
// over the bytes instead of encoding/json's Decoder.Token (which costs
// an allocation and a state machine step per token: most of the time of
// reading a .settings or .status file). It gives the same values, types,
// key order and duplicates; ok is false for anything it does not fully
// accept (any syntax error, nesting deeper than maxJSONDepth, trailing
// data), and decodeJSONDups then takes the token path, which words the
// error. A string holding an escape or a non-ASCII byte is unquoted by
// encoding/json itself. FuzzScanJSON compares both on arbitrary input.
func scanJSON(data []byte) (v any, dups []Dup, ok bool) {
	s := &jscan{data: data}
	s.skipSpace()
	v, ok = s.value(0)
	if !ok {
		return nil, nil, false
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return nil, nil, false
	}
	return v, s.st.dups, true
}

type jscan struct {
	data []byte
	pos  int
	st   jstate
}

func (s *jscan) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *jscan) value(depth int) (any, bool) {
	if s.pos >= len(s.data) {
		return nil, false
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		if depth >= maxJSONDepth {
			return nil, false
		}
		return s.object(depth)
	case c == '[':
		if depth >= maxJSONDepth {
			return nil, false
		}
		return s.array(depth)
	case c == '"':
		return s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == 't':
		return true, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return nil, s.literal("null")
	}
	return nil, false
}

func (s *jscan) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

func (s *jscan) object(depth int) (any, bool) {
	s.pos++ // '{'
	d := ordereddict.NewDict()
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return d, true
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return nil, false
		}
		kv, ok := s.str()
		if !ok {
			return nil, false
		}
		k := kv.(string)
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return nil, false
		}
		s.pos++
		s.skipSpace()
		s.st.path = append(s.st.path, jelem{k, -1})
		val, ok := s.value(depth + 1)
		s.st.path = s.st.path[:len(s.st.path)-1]
		if !ok {
			return nil, false
		}
		s.st.set(d, k, val)
		if done, ok := s.next('}'); !ok {
			return nil, false
		} else if done {
			return d, true
		}
	}
}

// next reads what follows a member or an element: ',' (more follow) or
// end (done); anything else is not JSON.
func (s *jscan) next(end byte) (done, ok bool) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false, false
	}
	switch s.data[s.pos] {
	case ',':
		s.pos++
		s.skipSpace()
		return false, true
	case end:
		s.pos++
		return true, true
	}
	return false, false
}

func (s *jscan) array(depth int) (any, bool) {
	s.pos++ // '['
	arr := []any{}
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return arr, true
	}
	for {
		s.st.path = append(s.st.path, jelem{"", len(arr)})
		val, ok := s.value(depth + 1)
		s.st.path = s.st.path[:len(s.st.path)-1]
		if !ok {
			return nil, false
		}
		arr = append(arr, val)
		if done, ok := s.next(']'); !ok {
			return nil, false
		} else if done {
			return arr, true
		}
	}
}

// str reads a string at s.pos (a '"'). Plain ASCII without escapes is
// taken as it is; anything else is unquoted by encoding/json, so escapes,
// surrogates and invalid UTF-8 read exactly as the token path reads them.
func (s *jscan) str() (any, bool) {
	start := s.pos
	s.pos++
	plain := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if plain {
				return string(s.data[start+1 : s.pos-1]), true
			}
			var out string
			if json.Unmarshal(s.data[start:s.pos], &out) != nil {
				return nil, false
			}
			return out, true
		case c == '\\':
			plain = false
			s.pos += 2 // the escaped byte cannot end the string
			continue
		case c < 0x20:
			return nil, false // a control character must be escaped
		case c >= utf8.RuneSelf:
			plain = false
		}
		s.pos++
	}
	return nil, false
}

// number reads a number by JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jscan) number() (any, bool) {
	start := s.pos
	d := s.data
	if s.pos < len(d) && d[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case s.pos < len(d) && d[s.pos] >= '1' && d[s.pos] <= '9':
		s.digits()
	default:
		return nil, false
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if !s.digits() {
			return nil, false
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if !s.digits() {
			return nil, false
		}
	}
	return jsonNumber(string(d[start:s.pos])), true
}

// digits reads [0-9]+.
func (s *jscan) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}
