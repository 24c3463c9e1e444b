// Package output writes query rows in the formats the vql command offers:
// json (as Velociraptor prints it), jsonl, csv and a readable table.
package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
	"golang.org/x/text/width"
	"www.velocidex.com/golang/vfilter/types"
)

// Writer receives rows one at a time; Close flushes (the table and the
// json array need to see the end).
type Writer interface {
	Write(row *ordereddict.Dict) error
	Close() error
}

// Formats lists the names NewWriter accepts.
var Formats = []string{"json", "jsonl", "csv", "table", "timesketch", "bodyfile"}

// Options tune a writer. The zero value is what NewWriter uses.
type Options struct {
	// Location for times (json, jsonl, csv, table); nil is UTC. Hosts set
	// it from the scope's TZ variable (ScopeLocation).
	Location *time.Location
	// MaxCellWidth caps a table cell, in characters (default 40).
	MaxCellWidth int
	// Warn receives what a writer left out (timesketch, bodyfile: rows
	// without a time); nil drops it.
	Warn func(string)
}

// NewWriter returns a writer for format.
func NewWriter(format string, w io.Writer) (Writer, error) {
	return NewWriterWithOptions(format, w, Options{})
}

// NewWriterWithOptions returns a writer for format with options.
func NewWriterWithOptions(format string, w io.Writer, o Options) (Writer, error) {
	opts := func() *json.EncOpts { return EncOpts(o.Location) }
	switch format {
	case "json":
		return &jsonWriter{w: bufio.NewWriter(w), opts: opts(), loc: o.Location}, nil
	case "jsonl":
		return &jsonlWriter{w: bufio.NewWriter(w), opts: opts(), loc: o.Location}, nil
	case "csv":
		return &csvWriter{out: w, opts: opts(), loc: o.Location}, nil
	case "timesketch":
		return &timesketchWriter{w: bufio.NewWriter(w), opts: opts(), warn: o.Warn}, nil
	case "bodyfile":
		return &bodyfileWriter{w: bufio.NewWriter(w), warn: o.Warn}, nil
	case "table":
		width := o.MaxCellWidth
		if width <= 0 {
			width = 40
		}
		return &tableWriter{out: w, opts: opts(), loc: o.Location, max: width}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// jsonWriter prints one JSON array per query, indented with one space
// exactly as Velociraptor's `query --format json` prints a batch of rows
// (vql.MarshalJsonIndent). Unlike Velociraptor, which cuts the stream
// into arrays of at most 10 rows (and prints [] for LET statements),
// all rows of one SELECT go in one array, followed by a newline.
type jsonWriter struct {
	w     *bufio.Writer
	opts  *json.EncOpts
	loc   *time.Location
	count int
	buf   bytes.Buffer
	flat  []byte
}

func (j *jsonWriter) Write(row *ordereddict.Dict) error {
	out, ok := appendFlatRow(j.flat[:0], row, j.loc, true)
	j.flat = out
	if !ok {
		b, err := json.MarshalWithOptions(row, j.opts)
		if err != nil {
			return err
		}
		j.buf.Reset()
		if err := json.Indent(&j.buf, b, " ", " "); err != nil {
			return err
		}
		out = j.buf.Bytes()
	}
	if j.count == 0 {
		j.w.WriteString("[\n ")
	} else {
		j.w.WriteString(",\n ")
	}
	j.count++
	_, err := j.w.Write(out)
	return err
}

func (j *jsonWriter) Close() error {
	if j.count == 0 {
		j.w.WriteString("[]\n")
	} else {
		j.w.WriteString("\n]\n")
	}
	return j.w.Flush()
}

// jsonlWriter prints one compact JSON object per line, as Velociraptor's
// MarshalJsonl.
type jsonlWriter struct {
	w    *bufio.Writer
	opts *json.EncOpts
	loc  *time.Location
	flat []byte
}

func (j *jsonlWriter) Write(row *ordereddict.Dict) error {
	b, ok := appendFlatRow(j.flat[:0], row, j.loc, false)
	j.flat = b
	if !ok {
		var err error
		if b, err = json.MarshalWithOptions(row, j.opts); err != nil {
			return err
		}
	}
	j.w.Write(b)
	return j.w.WriteByte('\n')
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

// csvWriter writes a header from the first row's columns. A later row
// with columns the header lacks starts a new block: an empty line and a
// header with the union of the columns, so nothing is dropped.
type csvWriter struct {
	out     io.Writer
	w       *csv.Writer
	opts    *json.EncOpts
	loc     *time.Location
	columns []string
	known   map[string]bool
}

func (c *csvWriter) Write(row *ordereddict.Dict) error {
	keys := row.Keys()
	if c.w == nil {
		c.w = csv.NewWriter(c.out)
	}
	var extra []string
	for _, k := range keys {
		if !c.known[k] {
			extra = append(extra, k)
		}
	}
	if c.columns == nil || len(extra) > 0 {
		if c.columns != nil {
			c.w.Flush()
			if _, err := io.WriteString(c.out, "\n"); err != nil {
				return err
			}
		}
		if c.known == nil {
			c.known = map[string]bool{}
		}
		for _, k := range extra {
			c.known[k] = true
			c.columns = append(c.columns, k)
		}
		if err := c.w.Write(c.columns); err != nil {
			return err
		}
	}
	rec := make([]string, len(c.columns))
	for i, k := range c.columns {
		v, pres := row.Get(k)
		if !pres {
			continue
		}
		rec[i] = CellString(v, c.loc, c.opts)
	}
	return c.w.Write(rec)
}

func (c *csvWriter) Close() error {
	if c.w == nil {
		return nil
	}
	c.w.Flush()
	return c.w.Error()
}

// CellString renders one value for csv and table cells: strings as is,
// NULL as empty, numbers and booleans as in JSON, times as RFC 3339
// (with nanoseconds when present, as in JSON), bytes as text, and
// everything else (dicts, lists) as compact JSON.
func CellString(v interface{}, loc *time.Location, opts *json.EncOpts) string {
	if loc == nil {
		loc = time.UTC
	}
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return ""
	case string:
		return t
	case []byte:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprintf("%d", t)
	case time.Time:
		return t.In(loc).Format(time.RFC3339Nano)
	case *time.Time:
		if t == nil {
			return ""
		}
		return t.In(loc).Format(time.RFC3339Nano)
	case func() types.Any:
		return CellString(t(), loc, opts)
	}
	if opts == nil {
		opts = EncOpts(loc)
	}
	b, err := json.MarshalWithOptions(v, opts)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	// A scalar that encodes as a JSON string (a Stringer, OSPath...)
	// is shown without the quotes.
	if len(b) >= 2 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			return s
		}
	}
	return string(b)
}

// tableWriter prints a fixed-width table. It holds rows back in blocks
// of tableBlock to size the columns, so memory stays bounded on long
// queries; the header is printed once and a later block may widen a
// column. Long cells are cut with an ellipsis, multi-line values show
// their first line (and an ellipsis), times are RFC 3339 in the
// location. Widths count East Asian wide characters as two columns.
type tableWriter struct {
	out     io.Writer
	opts    *json.EncOpts
	loc     *time.Location
	max     int
	columns []string
	known   map[string]bool
	widths  []int
	rows    [][]string
	printed bool
	total   int
}

const tableBlock = 1000

func (t *tableWriter) Write(row *ordereddict.Dict) error {
	if t.known == nil {
		t.known = map[string]bool{}
	}
	for _, k := range row.Keys() {
		if !t.known[k] {
			t.known[k] = true
			t.columns = append(t.columns, k)
		}
	}
	rec := map[string]string{}
	for _, k := range row.Keys() {
		v, _ := row.Get(k)
		rec[k] = t.cell(v)
	}
	cells := make([]string, len(t.columns))
	for i, k := range t.columns {
		cells[i] = rec[k]
	}
	t.rows = append(t.rows, cells)
	t.total++
	if len(t.rows) >= tableBlock {
		return t.flush()
	}
	return nil
}

func (t *tableWriter) cell(v interface{}) string {
	var s string
	switch tv := v.(type) {
	case time.Time:
		s = tableTime(tv, t.loc)
	case *time.Time:
		if tv != nil {
			s = tableTime(*tv, t.loc)
		}
	default:
		s = CellString(v, t.loc, t.opts)
	}
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
		cut = true
	}
	s = strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if displayWidth(s) > t.max {
		s = truncateWidth(s, t.max-1)
		cut = true
	}
	if cut {
		s += "…"
	}
	return s
}

// displayWidth is the number of terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || r == 0x200b {
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

func truncateWidth(s string, max int) string {
	n := 0
	for i, r := range s {
		w := runeWidth(r)
		if n+w > max {
			return s[:i]
		}
		n += w
	}
	return s
}

func tableTime(tv time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return tv.In(loc).Format(time.RFC3339)
}

func (t *tableWriter) flush() error {
	if len(t.columns) == 0 {
		return nil
	}
	for len(t.widths) < len(t.columns) {
		c := t.columns[len(t.widths)]
		w := displayWidth(c)
		if w > t.max {
			w = t.max
		}
		t.widths = append(t.widths, w)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if n := displayWidth(c); n > t.widths[i] {
				t.widths[i] = n
			}
		}
	}
	w := bufio.NewWriter(t.out)
	line := func(cells []string) {
		for i := range t.columns {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			if i > 0 {
				w.WriteString(" | ")
			}
			w.WriteString(c)
			if i < len(t.columns)-1 {
				w.WriteString(strings.Repeat(" ", t.widths[i]-displayWidth(c)))
			}
		}
		w.WriteString("\n")
	}
	if !t.printed {
		header := make([]string, len(t.columns))
		for i, c := range t.columns {
			if displayWidth(c) > t.max {
				c = truncateWidth(c, t.max-1) + "…"
			}
			header[i] = c
		}
		line(header)
		for i := range t.columns {
			if i > 0 {
				w.WriteString("-+-")
			}
			w.WriteString(strings.Repeat("-", t.widths[i]))
		}
		w.WriteString("\n")
		t.printed = true
	}
	for _, r := range t.rows {
		line(r)
	}
	t.rows = t.rows[:0]
	return w.Flush()
}

func (t *tableWriter) Close() error {
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(t.out, "(%d %s)\n", t.total, plural(t.total, "row", "rows"))
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
