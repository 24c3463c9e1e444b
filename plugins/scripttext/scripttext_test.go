package scripttext

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("echo gz\n"))
	zw.Close()
	cut := gz.Bytes()[:gz.Len()-6]
	cases := []struct{ in, want, note string }{
		{base64.StdEncoding.EncodeToString([]byte("whoami\n")), "whoami\n", ""},
		{base64.StdEncoding.EncodeToString(gz.Bytes()), "echo gz\n", ""},
		{base64.StdEncoding.EncodeToString(cut), "echo gz\n", "gzip ends early"},
		{"ls -la /tmp", "ls -la /tmp", "not base64"},
		{base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4, 5}), "AAECAwQF", "not base64 text"},
	}
	for _, c := range cases {
		got, note := Decode(c.in)
		if got != c.want || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("Decode(%q) = %q, %q; want %q, %q", c.in, got, note, c.want, c.note)
		}
	}
}
