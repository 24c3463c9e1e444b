package activitylog

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// parseDict decodes one JSON object into an ordered dict: members in the
// order written, integers as int64 and other numbers as float64, and a
// string that is an RFC 3339 time as a time - what Velocidex's ordereddict
// decoder (and so Velociraptor's parse_json and parse_jsonl) makes of the
// same text, so rows agree whether they come from this plugin or through
// an exchange edition's JSON lines. It is the per-event cost of a
// million-event export: a third of ordereddict.UnmarshalJSON's.
func parseDict(b []byte) (*ordereddict.Dict, error) {
	p := &jparser{b: b}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errNotObject
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errTrailing
	}
	return v.(*ordereddict.Dict), nil
}

// parseValue decodes any JSON value the same way.
func parseValue(b []byte) (any, error) {
	p := &jparser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errTrailing
	}
	return v, nil
}

var (
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("data after the JSON object")
	errSyntax    = errors.New("JSON syntax error")
	errDepth     = errors.New("JSON nested too deeply")
)

const maxJSONDepth = 200

type jparser struct {
	b []byte
	i int
}

func (p *jparser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// value decodes the value at p.i. It is long because it is the JSON
// grammar in one switch (object, array, string, literals, number).
func (p *jparser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errDepth
	}
	p.ws()
	if p.i >= len(p.b) {
		return nil, errSyntax
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		d := ordereddict.NewDict()
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return d, nil
		}
		for {
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return nil, errSyntax
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, errSyntax
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.Set(k, v)
			p.ws()
			if p.i >= len(p.b) {
				return nil, errSyntax
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == '}' {
				p.i++
				return d, nil
			}
			return nil, errSyntax
		}
	case c == '[':
		p.i++
		l := []any{}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return l, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			p.ws()
			if p.i >= len(p.b) {
				return nil, errSyntax
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == ']' {
				p.i++
				return l, nil
			}
			return nil, errSyntax
		}
	case c == '"':
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return timeOrString(v), nil
	case c == 't' && p.lit("true"):
		return true, nil
	case c == 'f' && p.lit("false"):
		return false, nil
	case c == 'n' && p.lit("null"):
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		j := p.number()
		if j < 0 {
			return nil, errSyntax
		}
		n := string(p.b[p.i:j])
		p.i = j
		// Integers as int64, the rest as float64: what VQL compares and
		// prints as numbers.
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(n, 64); err == nil {
			return f, nil
		}
		return json.Number(n), nil
	}
	return nil, errSyntax
}

// timeOrString: ordereddict's rule (at least 20 bytes, 'T' at 10, a
// valid RFC 3339 time).
func timeOrString(s string) any {
	if len(s) >= 20 && s[10] == 'T' {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
	}
	return s
}

// number returns the end of the JSON number at p.i (RFC 8259 grammar),
// or -1.
func (p *jparser) number() int {
	b, j := p.b, p.i
	digits := func() bool {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	if j < len(b) && b[j] == '0' {
		j++
	} else if !digits() {
		return -1
	}
	if j < len(b) && b[j] == '.' {
		j++
		if !digits() {
			return -1
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if !digits() {
			return -1
		}
	}
	return j
}

func (p *jparser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// str reads a string at p.i (the opening quote); escapes are decoded by
// encoding/json (rare in these exports, so the fast path is a slice).
func (p *jparser) str() (string, error) {
	j := p.i + 1
	escaped := false
	for j < len(p.b) {
		c := p.b[j]
		if c == '\\' {
			escaped = true
			j += 2
			continue
		}
		if c == '"' {
			break
		}
		if c < 0x20 {
			return "", errSyntax
		}
		j++
	}
	if j >= len(p.b) {
		return "", errSyntax
	}
	raw := p.b[p.i : j+1]
	p.i = j + 1
	if !escaped {
		if !utf8.Valid(raw) {
			return string([]rune(string(raw[1 : len(raw)-1]))), nil
		}
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errSyntax
	}
	return s, nil
}
