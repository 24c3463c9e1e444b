package output

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter/types"
)

// appendFlatRow appends row as the full encoder (marshalDict with the
// EncOpts time callback) prints it, indented as json.Indent(prefix " ",
// indent " ") would when indent is set, for the common row: keys and
// strings (escaped as the encoder escapes them), integers, bools, NULLs,
// times and nested dicts and lists ([]interface{}) of those. Anything
// else (a float, another kind of slice, a function) returns ok=false and the caller uses the full encoder, so
// the bytes are always the full encoder's (TestFlatRowMatchesEncoder,
// FuzzFlatRow). It exists because a `SELECT count() FROM` over a
// million-record log prints a million one-column rows, and the
// reflective encoder plus Indent cost about 0.9 µs each (a 16-column log
// row with a multi-line message or an Env dict about 3 µs).
func appendFlatRow(dst []byte, row *ordereddict.Dict, loc *time.Location, indent bool) ([]byte, bool) {
	if row.Len() == 0 {
		return dst, false
	}
	start := len(dst)
	dst, ok := appendFlatDict(dst, row, loc, indent, 1)
	if !ok {
		return dst[:start], false
	}
	return dst, true
}

// appendFlatDict appends d at nesting depth (1: the row itself).
func appendFlatDict(dst []byte, d *ordereddict.Dict, loc *time.Location, indent bool, depth int) ([]byte, bool) {
	items := vqlkit.ItemsView(d) // no copy: the writer owns the row
	if len(items) == 0 {
		return append(dst, "{}"...), true
	}
	dst = append(dst, '{')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		if indent {
			dst = appendNewline(dst, depth)
		}
		dst = appendJSONString(dst, it.Key)
		dst = append(dst, ':')
		if indent {
			dst = append(dst, ' ')
		}
		var ok bool
		if dst, ok = appendFlatItem(dst, it.Value, loc, indent, depth); !ok {
			return dst, false
		}
	}
	if indent {
		dst = appendNewline(dst, depth-1)
	}
	return append(dst, '}'), true
}

// appendFlatItem appends a value inside a dict or list at depth: a
// nested dict or list (one level deeper), else a plain value.
func appendFlatItem(dst []byte, v interface{}, loc *time.Location, indent bool, depth int) ([]byte, bool) {
	switch t := v.(type) {
	case *ordereddict.Dict:
		if t == nil || depth >= maxFlatDepth {
			return dst, false
		}
		return appendFlatDict(dst, t, loc, indent, depth+1)
	case []interface{}:
		if t == nil || depth >= maxFlatDepth { // a nil list: the encoder's null, left to it
			return dst, false
		}
		return appendFlatList(dst, t, loc, indent, depth+1)
	case []types.Any: // a list after vfilter.RowToDict
		if t == nil || depth >= maxFlatDepth {
			return dst, false
		}
		return appendFlatList(dst, t, loc, indent, depth+1)
	}
	return appendFlatValue(dst, v, loc)
}

// appendFlatList appends a list (Files, FileUris; []interface{} from a
// plugin, []types.Any after RowToDict) at depth as the encoder prints it
// and json.Indent lays it out: [] when
// empty, else one element per line.
func appendFlatList[E any](dst []byte, l []E, loc *time.Location, indent bool, depth int) ([]byte, bool) {
	if len(l) == 0 {
		return append(dst, "[]"...), true
	}
	dst = append(dst, '[')
	for i, v := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		if indent {
			dst = appendNewline(dst, depth)
		}
		var ok bool
		if dst, ok = appendFlatItem(dst, any(v), loc, indent, depth); !ok {
			return dst, false
		}
	}
	if indent {
		dst = appendNewline(dst, depth-1)
	}
	return append(dst, ']'), true
}

// maxFlatDepth bounds the recursion (a dict that holds itself).
const maxFlatDepth = 16

// appendNewline is json.Indent's line break before an item at depth:
// the prefix " " and one " " per level.
func appendNewline(dst []byte, depth int) []byte {
	dst = append(dst, '\n', ' ')
	for i := 0; i < depth; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

func appendFlatValue(dst []byte, v interface{}, loc *time.Location) ([]byte, bool) {
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return append(dst, "null"...), true
	case string:
		return appendJSONString(dst, t), true
	case bool:
		return strconv.AppendBool(dst, t), true
	case int:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int64:
		return strconv.AppendInt(dst, t, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(t), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(t), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(t), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(t), 10), true
	case uint64:
		return strconv.AppendUint(dst, t, 10), true
	case time.Time:
		if loc == nil {
			t = t.UTC()
		} else {
			t = t.In(loc)
		}
		// MarshalJSON is '"' + AppendText + '"' (the EncOpts callback;
		// errors outside years 0-9999), here without its own buffer.
		b, err := t.AppendText(append(dst, '"'))
		if err != nil {
			return dst, false
		}
		return append(b, '"'), true
	}
	return dst, false
}

// appendJSONString appends s quoted as the encoder quotes a string
// (HTML-safe: <, > and & as \u003c..., control bytes as \n \r \t or
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// jsonPlain: the bytes appendJSONString copies as they are (printable
// ASCII but " \ < > &); one lookup per byte of a message.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
