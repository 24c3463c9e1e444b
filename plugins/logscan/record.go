package logscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Caps every log parser applies by default.
const (
	DefaultMaxLine   = 1 << 20 // longest line kept; a longer one is cut and flagged
	DefaultMaxRecord = 1 << 20 // largest record; past it, lines start a new row
)

// Caps returns maxLine and maxRecord, each defaulted when not positive.
func Caps(maxLine, maxRecord int) (int, int) {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	return maxLine, maxRecord
}

// The continuation rules the record assemblers share: a line that does
// not start a record continues the open one, unless it is binary (a NUL:
// garbage, a zeroed block after a crash), which starts an unparsed row;
// and a record stops growing at maxRecord (the line then starts an
// unparsed row of its own and the record is flagged truncated), so
// memory stays bounded and nothing is dropped.

// IsBinary says whether a line holds a NUL byte.
func IsBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }

// Fits says whether a record of size bytes can take line b (and the
// newline before it) within maxRecord.
func Fits(size int, b []byte, maxRecord int) bool { return size+1+len(b) <= maxRecord }

// IsDigit is an ASCII digit.
func IsDigit(c byte) bool { return c >= '0' && c <= '9' }

// Fraction parses ".fff" at b[i:] (b[i] == '.') into nanoseconds and
// returns the index after it. At most 9 digits count; more are skipped.
func Fraction(b []byte, i int) (ns, end int) {
	i++ // '.'
	n := 0
	for i < len(b) && IsDigit(b[i]) {
		if n < 9 {
			ns = ns*10 + int(b[i]-'0')
			n++
		}
		i++
	}
	for ; n < 9; n++ {
		ns *= 10
	}
	return ns, i
}

// String copies b, replacing invalid UTF-8 (binary garbage) with U+FFFD
// so every output writer can carry it.
func String(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// ReadError is the message for the error that ended a scan of osPath
// after lines lines (kind is the compression found, "" for plain).
func ReadError(osPath, kind string, lines int64, err error) string {
	switch {
	case errors.Is(err, ErrUnsupported):
		return fmt.Sprintf("%s: %v: not read", osPath, err)
	case kind != "" && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		return fmt.Sprintf("%s: %s stream ends early after %d lines: the lines read were emitted", osPath, kind, lines)
	case kind != "":
		return fmt.Sprintf("%s: %s stream damaged after %d lines (%v): the lines read were emitted", osPath, kind, lines, err)
	}
	return fmt.Sprintf("%s: read error after %d lines: %v", osPath, lines, err)
}
