package extensions

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonCases are documents for the scanner: the shapes of the evidence
// files, and each corner where a hand-written JSON reader can part from
// encoding/json (escapes, surrogates, invalid UTF-8, number forms,
// duplicates, nesting, whitespace, trailing data).
var jsonCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `1e999`, `-1e999`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775808`, `123456789012345678901234567890`, `0.1`, `true`, `false`, `null`, ` {"a" : 1 } `,
	"\t\r\n[1,2 ,\n3]\n", `{"a":{"b":[{"c":null}]}}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`, `{"a":{"x":1},"a":[1]}`,
	`[{"a":1,"a":"x"},{"b":true,"B":false}]`, `"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"`, `"\ud800"`, `"\udc00x"`,
	"\"\xff\xfe bad utf8\"", "\"caf\xc3\xa9\"", `{"\u0041":1,"A":2}`, `"a\u0000b"`,
	// invalid: the token path words the error
	``, ` `, `{`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `[1 2]`,
	`{} {}`, `{}x`, "\"a\nb\"", `"\x"`, `"abc`, `"\`, "\xef\xbb\xbf{}", `[1]]`, `NaN`, `[-]`,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth),
}

// sameDecode: decodeJSONDups (the scanner when it accepts the input)
// gives what encoding/json's token path gives: the value with its Go
// types and key order, the duplicates, the error text.
func sameDecode(t *testing.T, data []byte) (scanned bool) {
	t.Helper()
	want, wantDups, wantErr := decodeJSONTokens(data)
	got, gotDups, gotErr := decodeJSONDups(data)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%q: error %v, token path %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotDups, wantDups) {
		t.Fatalf("%q:\n got  %#v %#v\n want %#v %#v", data, got, gotDups, want, wantDups)
	}
	_, _, scanned = scanJSON(data)
	if scanned != (wantErr == nil) {
		t.Fatalf("%q: scanner accepted %v, token path error %v", data, scanned, wantErr)
	}
	return scanned
}

func TestScanJSONMatchesTokens(t *testing.T) {
	for _, c := range jsonCases {
		sameDecode(t, []byte(c))
	}
	// Every JSON evidence file of the fixtures takes the scanner.
	n := 0
	for _, tree := range []string{"linux", "linux-bad", "linux-cse", "linux-rc2", "linux-rc2-bad", "windows", "windows-bad"} {
		root := filepath.Join("..", "..", "tests", "fixtures", tree)
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(filepath.Base(p), ".settings") && !strings.Contains(filepath.Base(p), ".status") &&
				!strings.HasSuffix(p, ".json") {
				return nil
			}
			if !d.Type().IsRegular() { // a planted FIFO or link is not read
				return nil
			}
			if b, err := os.ReadFile(p); err == nil {
				sameDecode(t, b)
				n++
			}
			return nil
		})
	}
	if n < 50 {
		t.Errorf("only %d fixture documents", n)
	}
}

func FuzzScanJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	for _, ext := range []string{".settings", ".status"} {
		for _, b := range fixtureSeeds(ext) {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameDecode(t, data) })
}
