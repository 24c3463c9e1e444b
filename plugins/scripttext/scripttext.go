// Package scripttext decodes the script text that Azure VM extension
// settings carry: the Run Command / Custom Script "script" value (base64,
// optionally gzip, docs/formats.md §2). It has no dependency on the plugins so
// that extensions, goalstate and protected can all use it without import
// cycles.
package scripttext

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/azvql/azvql/plugins/evidence"
)

// MaxBytes caps a script decoded from settings (base64 and gzip): a gzip
// bomb cannot make the decoder allocate more.
const MaxBytes = 1 << 20

// Decode decodes a Run Command / CSE "script" value: base64, then gunzip
// when the bytes are gzip (docs/formats.md §2). Text that is not base64 is
// returned as is. note explains anything unusual.
func Decode(v string) (script, note string) {
	raw, err := decodeBase64(v)
	if err != nil {
		return v, "script is not base64; shown as found"
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return ToText(raw), "gzip header unreadable: " + err.Error()
		}
		out, rerr := io.ReadAll(io.LimitReader(zr, MaxBytes+1))
		switch {
		case len(out) > MaxBytes:
			out, note = out[:MaxBytes], "script capped at 1 MiB"
		case rerr != nil:
			note = "gzip ends early: " + rerr.Error()
		}
		return ToText(out), note
	}
	if !looksText(raw) {
		return v, "script is not base64 text; shown as found"
	}
	if len(raw) > MaxBytes {
		raw, note = raw[:MaxBytes], "script capped at 1 MiB"
	}
	return ToText(raw), note
}

func decodeBase64(v string) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	if v == "" {
		return nil, errors.New("empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// ToText turns decoded script bytes into a string: BOM and UTF-16 are
// decoded, invalid UTF-8 replaced.
func ToText(b []byte) string {
	t, _ := evidence.DecodeText(b)
	if utf8.Valid(t) {
		return string(t)
	}
	return strings.ToValidUTF8(string(t), "\uFFFD")
}

// looksText: decoded bytes that are text (UTF-8/UTF-16, few control
// characters), not the accident of plain text that happens to be valid
// base64.
func looksText(b []byte) bool {
	t, _ := evidence.DecodeText(b)
	if len(t) == 0 {
		return false
	}
	if !utf8.Valid(t) {
		return false
	}
	bad := 0
	for _, c := range t {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			bad++
		}
	}
	return bad*20 <= len(t)
}
