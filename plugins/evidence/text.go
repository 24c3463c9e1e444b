package evidence

import (
	"bytes"
	"unicode/utf16"
)

// Text encodings DecodeText recognises.
const (
	EncUTF8    = "utf-8"
	EncUTF8BOM = "utf-8-bom"
	EncUTF16LE = "utf-16le"
	EncUTF16BE = "utf-16be"
)

// DecodeText turns the bytes of a small text document (a .settings or
// .status file, a manifest) into UTF-8, whatever the writer used: a UTF-8
// BOM, UTF-16 with a BOM (Windows tools), or BOM-less UTF-16 (detected by
// NULs in the odd bytes, LE, or in the even bytes, BE). It returns the
// encoding it found.
func DecodeText(b []byte) ([]byte, string) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:], EncUTF8BOM
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16ToUTF8(b[2:], false), EncUTF16LE
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16ToUTF8(b[2:], true), EncUTF16BE
	case looksUTF16(b, 1):
		return utf16ToUTF8(b, false), EncUTF16LE
	case looksUTF16(b, 0):
		return utf16ToUTF8(b, true), EncUTF16BE
	}
	return b, EncUTF8
}

// looksUTF16: BOM-less UTF-16 of ASCII text has a NUL in every high byte
// (index 1 of each pair for LE, 0 for BE) and none in the low bytes.
func looksUTF16(b []byte, high int) bool {
	n := len(b)
	if n < 4 || n%2 != 0 {
		return false
	}
	if n > 64 {
		n = 64
	}
	for i := 0; i+1 < n; i += 2 {
		if b[i+high] != 0 || b[i+1-high] == 0 {
			return false
		}
	}
	return true
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
		}
	}
	return []byte(string(utf16.Decode(u)))
}
