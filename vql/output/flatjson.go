package output

import (
	"strconv"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter/types"
)

// appendFlatRow appends row as the full encoder (marshalDict with the
// EncOpts time callback) prints it, indented as json.Indent(prefix " ",
// indent " ") would when indent is set, for the common flat row: ASCII
// keys and strings with nothing to escape, integers, bools, NULLs and
// times. Anything else (an escape, a float, a nested dict, a list)
// returns ok=false and the caller uses the full encoder, so the bytes are
// always the full encoder's (TestFlatRowMatchesEncoder, FuzzFlatRow). It
// exists because a `SELECT count() FROM` over a million-record log prints
// a million one-column rows, and the reflective encoder plus Indent cost
// about 0.9 µs each.
func appendFlatRow(dst []byte, row *ordereddict.Dict, loc *time.Location, indent bool) ([]byte, bool) {
	items := row.Items()
	if len(items) == 0 {
		return dst, false
	}
	start := len(dst)
	dst = append(dst, '{')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		if indent {
			dst = append(dst, "\n  "...)
		}
		if !plainASCII(it.Key) {
			return dst[:start], false
		}
		dst = append(dst, '"')
		dst = append(dst, it.Key...)
		dst = append(dst, '"', ':')
		if indent {
			dst = append(dst, ' ')
		}
		var ok bool
		if dst, ok = appendFlatValue(dst, it.Value, loc); !ok {
			return dst[:start], false
		}
	}
	if indent {
		dst = append(dst, "\n }"...)
	} else {
		dst = append(dst, '}')
	}
	return dst, true
}

func appendFlatValue(dst []byte, v interface{}, loc *time.Location) ([]byte, bool) {
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return append(dst, "null"...), true
	case string:
		if !plainASCII(t) {
			return dst, false
		}
		dst = append(dst, '"')
		dst = append(dst, t...)
		return append(dst, '"'), true
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
		b, err := t.MarshalJSON() // the EncOpts callback; errors outside years 0-9999
		if err != nil {
			return dst, false
		}
		return append(dst, b...), true
	}
	return dst, false
}

// plainASCII: printable ASCII that the encoder copies as is (no quote,
// backslash or HTML-escaped <, >, &).
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
