package logscan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

func lines(t *testing.T, r io.Reader, max int) (out []string, cuts []bool) {
	t.Helper()
	br, _, err := Decompress(r)
	if err != nil {
		t.Fatal(err)
	}
	lr := NewLineReader(br, max)
	for {
		l, cut, err := lr.Next()
		if err != nil {
			return
		}
		out = append(out, string(l))
		cuts = append(cuts, cut)
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := "a\r\nb\n" + long + "\nlast"
	got, cuts := lines(t, strings.NewReader(in), 100<<10)
	if len(got) != 4 || got[0] != "a" || got[1] != "b" || len(got[2]) != 100<<10 || !cuts[2] || got[3] != "last" || cuts[3] {
		t.Fatalf("%d lines %v", len(got), cuts)
	}
}

func TestGzipAndMagic(t *testing.T) {
	var buf bytes.Buffer
	g := gzip.NewWriter(&buf)
	g.Write([]byte("one\ntwo\n"))
	g.Close()
	got, _ := lines(t, &buf, 0)
	if len(got) != 2 || got[1] != "two" {
		t.Fatalf("%q", got)
	}
	for in, want := range map[string]string{"BZh is a word\n": "", "\x1f\x8b\x08": "gzip", "\xfd7zXZ\x00": "xz", "plain": ""} {
		if k := Compression(bufio.NewReader(strings.NewReader(in))); k != want {
			t.Errorf("%q: %q", in, k)
		}
	}
	if _, _, err := Decompress(strings.NewReader("\xfd7zXZ\x00....")); err == nil {
		t.Error("xz accepted")
	}
}

func TestUTF16(t *testing.T) {
	b := []byte{0xFF, 0xFE, 'h', 0, 'i', 0, '\n', 0, 0x3D, 0xD8, 0x00, 0xDE}
	br := bufio.NewReader(bytes.NewReader(b))
	if UTF16(br) != "le" {
		t.Fatal("not detected")
	}
	out, _ := io.ReadAll(NewUTF16Reader(br, false))
	if string(out) != "hi\n\U0001F600" {
		t.Fatalf("%q", out)
	}
	// Without a BOM: NULs in every odd byte (LE) or every even byte (BE).
	for _, c := range []struct {
		in   string
		want string
	}{
		{"t\x00i\x00m\x00e\x00=\x00x\x00", "le"},
		{"\x00t\x00i\x00m\x00e\x00=\x00x", "be"},
		{"time=x\x00\x00", ""},
	} {
		br := bufio.NewReader(strings.NewReader(c.in))
		if got := UTF16(br); got != c.want {
			t.Errorf("UTF16(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.want == "be" {
			out, _ := io.ReadAll(NewUTF16Reader(br, true))
			if string(out) != "time=x" {
				t.Errorf("BE read %q", out)
			}
		}
	}
}
