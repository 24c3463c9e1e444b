// Package logscan holds what every log parser of azvql needs to read a
// log as a stream: compression detected from the magic bytes (gzip and
// bzip2 rotations are read transparently), and a line reader with a
// length cap (a 100 MB line is cut and flagged, never buffered whole),
// the caps' defaults and the continuation rules of the record assemblers
// (record.go), and the small byte helpers they share (Fraction, String).
//
// The code started as plugins/agentlog's private scanner; it is shared
// here so the handler-log and telemetry parsers read files the same way.
package logscan

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// ReadBuf is the size of the read buffer (and of the peek window).
const ReadBuf = 64 << 10

// LineReader reads lines with a length cap: a longer line is cut (and
// reported as cut), the rest of it skipped without being buffered.
type LineReader struct {
	r    *bufio.Reader
	max  int
	long []byte
	err  error // deferred error, returned after the last partial line
}

// NewLineReader reads lines of at most max bytes from br.
func NewLineReader(br *bufio.Reader, max int) *LineReader {
	if max <= 0 {
		max = 1 << 20
	}
	return &LineReader{r: br, max: max}
}

// Next returns the next line without its line ending (\n or \r\n). The
// slice is valid until the next call. err is io.EOF at a clean end, or
// the read error that ended the stream (after the last partial line).
func (lr *LineReader) Next() (line []byte, cut bool, err error) {
	if lr.err != nil {
		return nil, false, lr.err
	}
	l, err := lr.r.ReadSlice('\n')
	if err == nil {
		t := TrimEOL(l)
		if len(t) > lr.max {
			return t[:lr.max], true, nil
		}
		return t, false, nil
	}
	if err != bufio.ErrBufferFull {
		lr.err = err
		if len(l) == 0 {
			return nil, false, err
		}
		if len(l) > lr.max {
			return l[:lr.max], true, nil
		}
		return TrimEOL(l), false, nil
	}
	// A line longer than the buffer.
	lr.long = append(lr.long[:0], l[:min(len(l), lr.max)]...)
	total := len(l)
	for {
		l, err = lr.r.ReadSlice('\n')
		total += len(l)
		if room := lr.max - len(lr.long); room > 0 {
			lr.long = append(lr.long, l[:min(len(l), room)]...)
		}
		if err != bufio.ErrBufferFull {
			break
		}
	}
	if err != nil {
		lr.err = err
	} else {
		total-- // '\n'
	}
	line = TrimEOL(lr.long)
	cut = total > lr.max
	return line, cut, nil
}

// TrimEOL removes a trailing \n or \r\n.
func TrimEOL(l []byte) []byte {
	n := len(l)
	if n > 0 && l[n-1] == '\n' {
		n--
		if n > 0 && l[n-1] == '\r' {
			n--
		}
	}
	return l[:n]
}

// Compression names what a stream's magic bytes say it is: "gzip",
// "bzip2", "xz", "zstd", or "" for plain data. The magic is checked past
// the first bytes (gzip's method byte, bzip2's block magic), so a text
// log that happens to start with "BZh" is not taken for bzip2.
func Compression(br *bufio.Reader) string {
	m, _ := br.Peek(10)
	switch {
	case len(m) >= 3 && m[0] == 0x1f && m[1] == 0x8b && m[2] == 8:
		return "gzip"
	case len(m) >= 10 && string(m[:3]) == "BZh" && m[3] >= '1' && m[3] <= '9' &&
		(bytes.Equal(m[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}) || bytes.Equal(m[4:10], []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90})):
		return "bzip2"
	case len(m) >= 6 && bytes.Equal(m[:6], []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case len(m) >= 4 && bytes.Equal(m[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

// ErrUnsupported is returned for a compression the standard library
// cannot read (xz, zstd).
var ErrUnsupported = errors.New("unsupported compression")

// Decompress returns a buffered reader of r's content, decompressed
// according to its magic bytes (not its name), and the compression found.
func Decompress(r io.Reader) (*bufio.Reader, string, error) {
	br := bufio.NewReaderSize(r, ReadBuf)
	kind := Compression(br)
	switch kind {
	case "gzip":
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, err
		}
		return bufio.NewReaderSize(gz, ReadBuf), kind, nil
	case "bzip2":
		return bufio.NewReaderSize(bzip2.NewReader(br), ReadBuf), kind, nil
	case "xz", "zstd":
		return nil, kind, fmt.Errorf("%w: %s", ErrUnsupported, kind)
	}
	return br, kind, nil
}
