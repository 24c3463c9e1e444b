package output

import (
	"bufio"
	"fmt"

	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter/types"
)

// Timeline formats (issue 16 §3): rows with a time, for the tools
// responders hand timelines on to.
//
// timesketch: Timesketch's JSONL import. Every line is one event with
// the three fields Timesketch requires (docs "Import from JSON or CSV":
// message, datetime in ISO 8601, timestamp_desc), plus every other
// column as a field. A row without a time cannot be imported (datetime
// is required): it is skipped, and the count is reported through
// Options.Warn at Close.
//
// bodyfile: Sleuth Kit's body file (TSK 3.x, the format fls -m writes
// and mactime reads), one line per row that carries a file time:
// MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime
// with times in Unix seconds (0 = unknown). Other rows are skipped and
// counted as for timesketch.

// rowTime is the row's event time and what it means: the Time column
// (TimeKind as its description), else NULL.
func rowTime(row *ordereddict.Dict) (time.Time, bool) {
	v, _ := row.Get("Time")
	return asTime(v)
}

func asTime(v interface{}) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t != nil {
			return *t, !t.IsZero()
		}
	case string:
		if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
			return p, true
		}
	case func() types.Any:
		return asTime(t())
	}
	return time.Time{}, false
}

func rowString(row *ordereddict.Dict, keys ...string) string {
	for _, k := range keys {
		v, ok := row.Get(k)
		if !ok {
			continue
		}
		if s := CellString(v, time.UTC, nil); s != "" {
			return s
		}
	}
	return ""
}

type timesketchWriter struct {
	w       *bufio.Writer
	opts    *json.EncOpts
	warn    func(string)
	skipped int
}

// Write emits one Timesketch event; the row's own columns follow the
// three required fields. Dicts and lists become JSON text (Timesketch
// indexes flat fields; a nested object would need a mapping per source).
func (t *timesketchWriter) Write(row *ordereddict.Dict) error {
	tm, ok := rowTime(row)
	if !ok {
		t.skipped++
		return nil
	}
	msg := rowString(row, "Summary", "Message", "message")
	if msg == "" {
		msg = rowString(row, "OSPath", "Source")
	}
	if msg == "" {
		msg = "(no summary)"
	}
	desc := rowString(row, "TimeKind", "timestamp_desc")
	if desc == "" {
		desc = "Time"
	}
	out := ordereddict.NewDict().
		Set("message", msg).
		Set("datetime", tm.UTC().Format(time.RFC3339Nano)).
		Set("timestamp_desc", desc).
		Set("timestamp", tm.UnixMicro())
	for _, k := range row.Keys() {
		switch k {
		case "message", "datetime", "timestamp_desc", "timestamp", "Time", "TimeKind", "Summary":
			continue
		}
		v, _ := row.Get(k)
		out.Set(k, flatValue(v, t.opts))
	}
	b, err := json.MarshalWithOptions(out, t.opts)
	if err != nil {
		return err
	}
	t.w.Write(b)
	return t.w.WriteByte('\n')
}

// flatValue keeps scalars and renders times, dicts and lists as text.
func flatValue(v interface{}, opts *json.EncOpts) interface{} {
	switch x := v.(type) {
	case nil, types.Null, *types.Null:
		return nil
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return x
	}
	return CellString(v, time.UTC, opts)
}

func (t *timesketchWriter) Close() error {
	if t.skipped > 0 && t.warn != nil {
		t.warn(fmt.Sprintf("timesketch: %d row(s) without a Time left out (Timesketch requires datetime)", t.skipped))
	}
	return t.w.Flush()
}

type bodyfileWriter struct {
	w       *bufio.Writer
	warn    func(string)
	skipped int
}

// Write emits the row's file times: Mtime/Atime/Ctime/Btime columns (a
// plugin's file row), else the Time of a timeline row whose TimeKind is
// Modified (a file's mtime) or Created.
func (b *bodyfileWriter) Write(row *ordereddict.Dict) error {
	get := func(k string) int64 {
		v, _ := row.Get(k)
		if t, ok := asTime(v); ok {
			return t.Unix()
		}
		return 0
	}
	m, a, c, cr := get("Mtime"), get("Atime"), get("Ctime"), get("Btime")
	if m == 0 && a == 0 && c == 0 && cr == 0 {
		if t, ok := rowTime(row); ok {
			switch rowString(row, "TimeKind") {
			case "Modified":
				m = t.Unix()
			case "Created":
				cr = t.Unix()
			}
		}
	}
	name := rowString(row, "OSPath", "FullPath", "Name")
	if name == "" || (m == 0 && a == 0 && c == 0 && cr == 0) {
		b.skipped++
		return nil
	}
	var size int64
	if v, ok := row.Get("Size"); ok {
		switch s := v.(type) {
		case int64:
			size = s
		case int:
			size = int64(s)
		case uint64:
			size = int64(s)
		}
	}
	md5 := "0"
	if s := rowString(row, "MD5"); s != "" {
		md5 = s
	}
	// '|' separates fields (a "\|" shifts every later field in mactime)
	// and a newline ends a record: both percent-encoded, which mactime
	// 4.11 decodes back when it prints the name.
	name = bodyEscape.Replace(name)
	if summary := rowString(row, "Summary"); summary != "" {
		name += " (" + bodyEscape.Replace(summary) + ")"
	}
	fields := []string{md5, name, "0", "0", "0", "0", strconv.FormatInt(size, 10),
		strconv.FormatInt(a, 10), strconv.FormatInt(m, 10), strconv.FormatInt(c, 10), strconv.FormatInt(cr, 10)}
	b.w.WriteString(strings.Join(fields, "|"))
	return b.w.WriteByte('\n')
}

var bodyEscape = strings.NewReplacer("|", "%7C", "\n", "%0A", "\r", "%0D")

func (b *bodyfileWriter) Close() error {
	if b.skipped > 0 && b.warn != nil {
		b.warn(fmt.Sprintf("bodyfile: %d row(s) without a file time left out", b.skipped))
	}
	return b.w.Flush()
}
