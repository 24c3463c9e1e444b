package agentlog

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

const readBuf = 64 << 10

// lineReader reads lines with a length cap: a longer line is cut (and
// reported as cut), the rest of it skipped without being buffered.
type lineReader struct {
	r    *bufio.Reader
	max  int
	long []byte
	err  error // deferred error, returned after the last partial line
}

// next returns the next line without its line ending. The slice is valid
// until the next call.
func (lr *lineReader) next() (line []byte, cut bool, err error) {
	if lr.err != nil {
		return nil, false, lr.err
	}
	l, err := lr.r.ReadSlice('\n')
	if err == nil {
		t := trimEOL(l)
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
		return trimEOL(l), false, nil
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
	line = trimEOL(lr.long)
	cut = total > lr.max
	return line, cut, nil
}

func trimEOL(l []byte) []byte {
	n := len(l)
	if n > 0 && l[n-1] == '\n' {
		n--
		if n > 0 && l[n-1] == '\r' {
			n--
		}
	}
	return l[:n]
}

// compression names what a file's magic bytes say it is.
func compression(br *bufio.Reader) string {
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

// errUnsupported: a compression the standard library cannot read.
var errUnsupported = errors.New("unsupported compression")

// decompress wraps r according to its magic bytes (not its name).
func decompress(r io.Reader) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, readBuf)
	kind := compression(br)
	switch kind {
	case "gzip":
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, kind, err
		}
		return gz, kind, nil
	case "bzip2":
		return bzip2.NewReader(br), kind, nil
	case "xz", "zstd":
		return nil, kind, fmt.Errorf("%w: %s", errUnsupported, kind)
	}
	return br, kind, nil
}

// Scan reads a (possibly compressed) log from r and feeds every line to
// a. It returns the read error that ended the scan early (a gzip that
// ends early, a read error), nil at a clean end of file or when emit
// asked to stop; the records read until then have been emitted.
func Scan(r io.Reader, a *Assembler) (compressed string, err error) {
	src, kind, err := decompress(r)
	if err != nil {
		return kind, err
	}
	br, ok := src.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(src, readBuf)
	}
	lr := &lineReader{r: br, max: a.opt.MaxLine}
	for {
		line, cut, err := lr.next()
		if err != nil {
			a.Flush()
			if err == io.EOF {
				return kind, nil
			}
			return kind, err
		}
		if !a.Line(line, cut) {
			return kind, nil
		}
	}
}
