package logscan

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// UTF16 names the UTF-16 flavour of a stream from its first bytes: "le"
// or "be" for a BOM, "le" for BOM-less text with NULs in every odd byte
// (Windows tools), "be" with NULs in every even byte, "" otherwise. It
// does not consume anything.
func UTF16(br *bufio.Reader) string {
	b, _ := br.Peek(64)
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return "le"
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return "be"
	}
	n := len(b) &^ 1
	if n < 8 {
		return ""
	}
	for _, enc := range []struct {
		name string
		high int
	}{{"le", 1}, {"be", 0}} {
		ok := true
		for i := 0; i < n && ok; i += 2 {
			ok = b[i+enc.high] == 0 && b[i+1-enc.high] != 0
		}
		if ok {
			return enc.name
		}
	}
	return ""
}

// utf16Reader converts a UTF-16 stream to UTF-8 as it is read.
type utf16Reader struct {
	r      *bufio.Reader
	be     bool
	out    []byte
	start  bool
	high   uint16 // pending high surrogate
	hasHi  bool
	eofErr error
}

// NewUTF16Reader returns a reader of br's UTF-16 text as UTF-8 (a BOM is
// dropped; unpaired surrogates become U+FFFD).
func NewUTF16Reader(br *bufio.Reader, bigEndian bool) io.Reader {
	return &utf16Reader{r: br, be: bigEndian, start: true}
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.eofErr != nil {
			return 0, u.eofErr
		}
		var buf [4096]byte
		n, err := io.ReadFull(u.r, buf[:])
		n &^= 1
		for i := 0; i < n; i += 2 {
			var c uint16
			if u.be {
				c = uint16(buf[i])<<8 | uint16(buf[i+1])
			} else {
				c = uint16(buf[i]) | uint16(buf[i+1])<<8
			}
			if u.start {
				u.start = false
				if c == 0xFEFF {
					continue
				}
			}
			switch {
			case u.hasHi && c >= 0xDC00 && c <= 0xDFFF:
				u.out = utf8.AppendRune(u.out, utf16.DecodeRune(rune(u.high), rune(c)))
				u.hasHi = false
				continue
			case u.hasHi:
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hasHi = false
			}
			if c >= 0xD800 && c <= 0xDBFF {
				u.high, u.hasHi = c, true
				continue
			}
			u.out = utf8.AppendRune(u.out, rune(c))
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			u.eofErr = err
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}
