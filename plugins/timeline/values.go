package timeline

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// The helpers below read a source row's columns the way the VQL the
// timeline replaced did (Generic.Azure.Timeline before the plugin), so
// the Summary lines read the same: NULL, '' and false are "not set",
// a || b is a unless it is not set, %v of NULL is "Null".

func get(d *ordereddict.Dict, k string) any {
	v, _ := d.Get(k)
	return v
}

// set is VQL's truth of a value.
func set(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case uint64:
		return x != 0
	case float64:
		return x != 0
	case time.Time:
		return !x.IsZero()
	case *ordereddict.Dict:
		return x.Len() > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() > 0
	case reflect.Pointer:
		return !rv.IsNil()
	}
	return true
}

func or(vs ...any) any {
	for _, v := range vs[:len(vs)-1] {
		if set(v) {
			return v
		}
	}
	return vs[len(vs)-1]
}

// str is %v of a value as VQL's format() prints it.
func str(v any) string {
	if v == nil {
		return "Null"
	}
	return fmt.Sprint(v)
}

// strp is a string column: NULL stays NULL.
func strp(v any) *string {
	if v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
	}
	return &s
}

func intp(v any) *int64 {
	switch x := v.(type) {
	case int64:
		return &x
	case int:
		n := int64(x)
		return &n
	case uint64:
		n := int64(x)
		return &n
	case int32:
		n := int64(x)
		return &n
	case uint32:
		n := int64(x)
		return &n
	}
	return nil
}

func timep(v any) *time.Time {
	t, ok := v.(time.Time)
	if !ok || t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func sp(s string) *string { return &s }

// oneLine is a command or message on one line: whitespace runs (RE2's
// \s: tab, newline, form feed, carriage return, space) collapsed to one
// space, cut at 100 characters with "...". Only the first 101 characters
// are looked at: a log message may be megabytes.
func oneLine(v any) string {
	if !set(v) {
		return ""
	}
	s := str(v)
	var b strings.Builder
	n, space := 0, false
	for i := 0; i < len(s); {
		_, w := utf8.DecodeRuneInString(s[i:])
		c := s[i : i+w] // as it is, even when not valid UTF-8
		i += w
		if c == " " || c == "\t" || c == "\n" || c == "\f" || c == "\r" {
			if space {
				continue
			}
			space, c = true, " "
		} else {
			space = false
		}
		if n == 100 {
			return b.String() + "..."
		}
		b.WriteString(c)
		n++
	}
	return b.String()
}

// seq is " seq N", or nothing when the source names no sequence.
func seq(n any) string {
	if n == nil {
		return ""
	}
	return " seq " + str(n)
}

func kindName(k any) string {
	switch k {
	case "RunCommand":
		return "Run Command"
	case "ManagedRunCommand":
		return "Managed Run Command"
	case "CustomScript":
		return "Custom Script"
	}
	return str(k)
}

func runAs(os, user any) string {
	if set(user) {
		return str(user)
	}
	if os == "Windows" {
		return "SYSTEM"
	}
	return "root"
}

// logLine is "Event: message" of a log record.
func logLine(event, msg any) string {
	if set(msg) {
		return str(event) + ": " + oneLine(msg)
	}
	return str(event)
}

// exitOr is ", exit N", else ", Status", else nothing.
func exitOr(code, status any) string {
	if code != nil {
		return ", exit " + str(code)
	}
	if set(status) {
		return ", " + str(status)
	}
	return ""
}

// rootPath is a path as the VM names it (C:\x\y or /x/y) as a path
// below Root: /x/y.
func rootPath(p any) string {
	s := str(p)
	if len(s) >= 2 && s[1] == ':' && (s[0]|0x20) >= 'a' && (s[0]|0x20) <= 'z' {
		s = s[2:]
	}
	return strings.ReplaceAll(s, `\`, "/")
}

// winPath is /x/y below a C: drive root as the VM names it.
func winPath(p string) string { return "C:" + strings.ReplaceAll(p, "/", `\`) }

// detail encodes the source row (already redacted by its plugin).
func detail(d *ordereddict.Dict) []byte { return appendValue(nil, d) }

// decodeDetail is the source row again.
func decodeDetail(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	v, err := decodeValue(b)
	if err != nil {
		return nil
	}
	return v
}
