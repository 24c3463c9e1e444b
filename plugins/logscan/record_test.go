package logscan

import (
	"fmt"
	"io"
	"testing"
)

func TestFraction(t *testing.T) {
	for _, c := range []struct {
		in      string
		ns, end int
	}{
		{".66 x", 660000000, 3},
		{".123456789123Z", 123456789, 13},
		{".", 0, 1},
	} {
		ns, end := Fraction([]byte(c.in), 0)
		if ns != c.ns || end != c.end {
			t.Errorf("Fraction(%q) = %d, %d; want %d, %d", c.in, ns, end, c.ns, c.end)
		}
	}
}

func TestCapsAndContinuation(t *testing.T) {
	if l, r := Caps(0, -1); l != DefaultMaxLine || r != DefaultMaxRecord {
		t.Errorf("Caps defaults: %d %d", l, r)
	}
	if l, r := Caps(10, 20); l != 10 || r != 20 {
		t.Errorf("Caps kept: %d %d", l, r)
	}
	// 5 bytes + "\n" + 4 bytes = 10: fits a 10-byte record, not a 9-byte one.
	if !Fits(5, []byte("abcd"), 10) || Fits(5, []byte("abcd"), 9) {
		t.Error("Fits counts the record, the newline and the line")
	}
	if !IsBinary([]byte("a\x00b")) || IsBinary([]byte("text")) {
		t.Error("IsBinary")
	}
}

func TestString(t *testing.T) {
	if s := String([]byte("ok é")); s != "ok é" {
		t.Errorf("String kept valid UTF-8 as %q", s)
	}
	if s := String([]byte("a\xffb")); s != "a\uFFFDb" {
		t.Errorf("String(invalid) = %q", s)
	}
}

func TestReadError(t *testing.T) {
	for _, c := range []struct {
		kind string
		err  error
		want string
	}{
		{"gzip", io.ErrUnexpectedEOF, "/l: gzip stream ends early after 7 lines: the lines read were emitted"},
		{"gzip", fmt.Errorf("flate: corrupt"), "/l: gzip stream damaged after 7 lines (flate: corrupt): the lines read were emitted"},
		{"", fmt.Errorf("EIO"), "/l: read error after 7 lines: EIO"},
		{"xz", fmt.Errorf("%w: xz", ErrUnsupported), "/l: unsupported compression: xz: not read"},
	} {
		if got := ReadError("/l", c.kind, 7, c.err); got != c.want {
			t.Errorf("ReadError(%s, %v) = %q; want %q", c.kind, c.err, got, c.want)
		}
	}
}
