package builtins_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/builtins"
	"github.com/azvql/azvql/vql/host"
	"github.com/azvql/azvql/vql/output"
	"www.velocidex.com/golang/vfilter"
)

// fixture builds a small tree and returns its root.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.txt", "hello\n")
	write("sub/b.log", "\xef\xbb\xbfl1\nl2\n")
	write("sub/deep/c.TXT", "x")
	write("data.jsonl", "{\"a\":1,\"b\":[1.5,\"x\"]}\n\n[1]\nnot json\n{\"a\":2}\n")
	write("records.txt", "user=alice id=1\nuser=bob id=2\n")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("g1\ng2\n"))
	zw.Close()
	write("z.log.gz", gz.String())
	mt := time.Date(2021, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"a.txt", "records.txt", "sub/b.log", "sub/deep/c.TXT"} {
		os.Chtimes(filepath.Join(dir, p), mt, mt)
	}
	return dir
}

type logBuf struct {
	bytes.Buffer
}

func run(t *testing.T, scope vfilter.Scope, query string) []vfilter.Row {
	t.Helper()
	ctx := context.Background()
	stmts, err := vfilter.MultiParse(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var rows []vfilter.Row
	for _, vql := range stmts {
		for r := range vql.Eval(ctx, scope) {
			rows = append(rows, vfilter.RowToDict(ctx, scope, r))
		}
	}
	return rows
}

func newScope(t *testing.T, dir string, logs *logBuf) vfilter.Scope {
	opts := host.Options{
		Env: ordereddict.NewDict().Set("D", dir),
		Now: host.GoldenTime,
	}
	if logs != nil {
		opts.Logger = log.New(logs, "", 0)
	}
	return host.NewScope(opts)
}

// js renders rows as Velociraptor's JSON with the fixture dir replaced.
func js(t *testing.T, rows []vfilter.Row, dir string) string {
	t.Helper()
	if rows == nil {
		rows = []vfilter.Row{}
	}
	b, err := output.MarshalJSON(rows)
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		return string(b)
	}
	return strings.ReplaceAll(string(b), dir, "D")
}

func check(t *testing.T, scope vfilter.Scope, dir, query, want string) {
	t.Helper()
	if got := js(t, run(t, scope, query), dir); got != want {
		t.Errorf("%s\n got: %s\nwant: %s", query, got, want)
	}
}

func TestGlob(t *testing.T) {
	dir := fixture(t)
	s := newScope(t, dir, nil)
	check(t, s, dir, "SELECT Name, OSPath, Size, IsDir, Mtime, Globs FROM glob(globs='**/*.txt', root=D)",
		`[{"Name":"a.txt","OSPath":"D/a.txt","Size":6,"IsDir":false,"Mtime":"2021-02-03T04:05:06Z","Globs":["/**/*.txt"]},`+
			`{"Name":"records.txt","OSPath":"D/records.txt","Size":30,"IsDir":false,"Mtime":"2021-02-03T04:05:06Z","Globs":["/**/*.txt"]},`+
			`{"Name":"c.TXT","OSPath":"D/sub/deep/c.TXT","Size":1,"IsDir":false,"Mtime":"2021-02-03T04:05:06Z","Globs":["/**/*.txt"]}]`)
	check(t, s, dir, "SELECT OSPath FROM glob(globs=D + '/{a.txt,sub/*.log}')",
		`[{"OSPath":"D/a.txt"},{"OSPath":"D/sub/b.log"}]`)
	check(t, s, dir, "SELECT Name FROM glob(globs='*', root=D) WHERE IsDir",
		`[{"Name":"sub"}]`)
	// Columns and types, as Velociraptor's glob.
	rows := run(t, s, "SELECT * FROM glob(globs='a.txt', root=D)")
	if len(rows) != 1 {
		t.Fatalf("rows %v", rows)
	}
	d := rows[0].(*ordereddict.Dict)
	if strings.Join(d.Keys(), ",") != "Name,OSPath,Mtime,Atime,Ctime,Btime,Size,Mode,IsDir,IsLink,Data,Globs" {
		t.Errorf("columns %v", d.Keys())
	}
	if m, _ := d.Get("Mode"); m.(os.FileMode) != 0o644 {
		t.Errorf("mode %v", m)
	}
	check(t, s, dir, "SELECT * FROM glob(globs='/nonexistent/**')", `[]`)
	check(t, s, dir, "SELECT OSPath FROM glob(globs='**1/*.log', root=D)", `[{"OSPath":"D/sub/b.log"}]`)
}

func TestStatAndReadFile(t *testing.T) {
	dir := fixture(t)
	s := newScope(t, dir, nil)
	check(t, s, dir, "SELECT Name, Size, IsDir FROM stat(filename=D + '/a.txt')",
		`[{"Name":"a.txt","Size":6,"IsDir":false}]`)
	check(t, s, dir, "SELECT stat(filename=D + '/a.txt').Size AS S, stat(filename=D + '/nope') AS N FROM scope()",
		`[{"S":6,"N":null}]`)
	check(t, s, dir, "SELECT read_file(filename=D + '/a.txt') AS A, read_file(filename=D + '/a.txt', offset=1, length=3) AS B, read_file(filename=D + '/nope') AS C FROM scope()",
		`[{"A":"hello\n","B":"ell","C":""}]`)
	check(t, s, dir, "SELECT Data, Offset FROM read_file(filenames=D + '/a.txt', chunk=4)",
		`[{"Data":"hell","Offset":0},{"Data":"o\n","Offset":4}]`)
}

func TestHash(t *testing.T) {
	dir := fixture(t)
	s := newScope(t, dir, nil)
	check(t, s, dir, "SELECT hash(path=D + '/a.txt') AS H FROM scope()",
		`[{"H":{"MD5":"b1946ac92492d2347c6235b4d2611184","SHA1":"f572d396fae9206628714fb2ce00f72e94f2258f","SHA256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}}]`)
	check(t, s, dir, "SELECT hash(path=D + '/a.txt', hashselect='SHA256') AS H, hash(path=D + '/nope') AS N FROM scope()",
		`[{"H":{"MD5":"","SHA1":"","SHA256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"},"N":null}]`)
}

func TestUpload(t *testing.T) {
	dir := fixture(t)
	var logs logBuf
	s := newScope(t, dir, &logs)
	check(t, s, dir, "SELECT upload(file=D + '/a.txt') AS U FROM scope()", `[{"U":null}]`)
	if !strings.Contains(logs.String(), "upload: Uploader not configured.") {
		t.Errorf("log: %q", logs.String())
	}
	out := t.TempDir()
	host.SetUploader(s, &builtins.DirUploader{Dir: out})
	check(t, s, dir, "SELECT upload(file='/a.txt', accessor='file', name='C:\\\\Pack:ages\\\\.x') AS U FROM scope()",
		`[{"U":{"Path":"","Size":0,"Error":"open /a.txt: no such file or directory","UploadId":0}}]`)
	rows := run(t, s, "SELECT upload(file=D + '/a.txt', name='C:\\\\Pack:ages\\\\.x') AS U FROM scope()")
	got := js(t, rows, dir)
	want := `[{"U":{"Path":"D/a.txt","Size":6,"UploadId":0,"StoredSize":6,` +
		`"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03","md5":"b1946ac92492d2347c6235b4d2611184",` +
		`"StoredName":"/uploads/auto/C%3A/Pack%3Aages/%2Ex","Components":["uploads","auto","C:","Pack:ages",".x"]}}]`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	data, err := os.ReadFile(filepath.Join(out, "uploads", "auto", "C%3A", "Pack%3Aages", "%2Ex"))
	if err != nil || string(data) != "hello\n" {
		t.Errorf("stored file: %q %v", data, err)
	}
}

func TestParsers(t *testing.T) {
	dir := fixture(t)
	var logs logBuf
	s := newScope(t, dir, &logs)
	check(t, s, dir, "SELECT * FROM parse_lines(filename=[D + '/sub/b.log', D + '/z.log.gz'])",
		`[{"Line":"l1"},{"Line":"l2"},{"Line":"g1"},{"Line":"g2"}]`)
	check(t, s, dir, "SELECT * FROM parse_jsonl(filename=D + '/data.jsonl')",
		`[{"a":1,"b":[1.5,"x"]},{"_value":[1]},{"a":2}]`)
	if !strings.Contains(logs.String(), "parse_jsonl: error at line 3") {
		t.Errorf("log: %q", logs.String())
	}
	check(t, s, dir, `SELECT parse_json(data='{"z":1,"a":{"b":2.5,"c":null},"t":"x"}') AS J, parse_json(data='[1]') AS Bad FROM scope()`,
		`[{"J":{"z":1,"a":{"b":2.5,"c":null},"t":"x"},"Bad":null}]`)
	check(t, s, dir, `SELECT parse_json_array(data='[{"a":1},2,"s"]') AS A, parse_json_array(data='  ') AS E FROM scope()`,
		`[{"A":[{"a":1},2,"s"],"E":[]}]`)
	check(t, s, dir, `SELECT * FROM parse_json_array(data='[{"a":1},{"a":2}]')`, `[{"a":1},{"a":2}]`)
	check(t, s, dir, `SELECT parse_string_with_regex(string='User=Alice ID=7', regex=['user=(?P<User>[a-z]+)', 'id=([0-9]+)', 'nomatch(?P<X>.)']) AS P FROM scope()`,
		`[{"P":{"User":"Alice","g1":"7"}}]`)
	check(t, s, dir, `SELECT * FROM parse_records_with_regex(file=D + '/records.txt', regex='user=(?P<User>[a-z]+) id=(?P<Id>[0-9]+)')`,
		`[{"FullPath":"D/records.txt","User":"alice","Id":"1"},{"FullPath":"D/records.txt","User":"bob","Id":"2"}]`)
	check(t, s, dir, `SELECT regex_replace(source='Hello World', re='o', replace='0') AS A, regex_replace(source='ab12', re='([a-z]+)([0-9]+)', replace='$2$1') AS B, regex_replace(source='abc', re='b', replace_lambda='x=>upcase(string=x)') AS C FROM scope()`,
		`[{"A":"Hell0 W0rld","B":"12ab","C":"aBc"}]`)
}

func TestTime(t *testing.T) {
	s := newScope(t, "", nil)
	// now() is the wall clock even with a frozen scope clock, as in
	// Velociraptor (its _Now.Call ignores utils.MockTime).
	check(t, s, "", `SELECT now() > 1590938885 AS After, timestamp(epoch=now()) > '2021-01-01' AS T FROM scope()`,
		`[{"After":true,"T":true}]`)
	check(t, s, "", `SELECT timestamp(epoch=1590938885123) AS Ms, timestamp(epoch=1.5) AS F, timestamp(epoch='2020-01-02T03:04:05.5Z') AS S, `+
		`timestamp(string='2020-01-02 03:04:05') AS S2, timestamp(winfiletime=132350338850000000) AS W, `+
		`timestamp(epoch='02/01/2006', format='01/02/2006') AS Fmt, timestamp(epoch=NULL) AS Nul FROM scope()`,
		`[{"Ms":"2020-05-31T15:28:05.123Z","F":"1970-01-01T00:00:01.5Z","S":"2020-01-02T03:04:05.5Z","S2":"2020-01-02T03:04:05Z",`+
			`"W":"2020-05-27T06:18:05Z","Fmt":"2006-02-01T00:00:00Z","Nul":null}]`)
	check(t, s, "", `SELECT timestamp(epoch=1590938885) > '2020-01-01' AS Gt, timestamp(epoch=1590938885) < '2020-01-01' AS Lt, `+
		`timestamp(epoch=1590938885).String AS Str, timestamp(epoch=1590938885).Unix AS U, `+
		`timestamp_format(time=1590938885, format='RFC1123') AS F, format(format='%v|%d', args=[timestamp(epoch=1590938885), 3]) AS Fm FROM scope()`,
		`[{"Gt":true,"Lt":false,"Str":"2020-05-31T15:28:05Z","U":1590938885,"F":"Sun, 31 May 2020 15:28:05 UTC","Fm":"2020-05-31T15:28:05Z|3"}]`)
	// TZ: parsing and output location.
	tz := host.NewScope(host.Options{Env: ordereddict.NewDict().Set("PARSE_TZ", "Australia/Brisbane")})
	check(t, tz, "", `SELECT timestamp(string='2020-01-02 10:00:00') AS T FROM scope()`,
		`[{"T":"2020-01-02T00:00:00Z"}]`)
	// A lazy LET is materialized, as in Velociraptor.
	check(t, newScope(t, "", nil), "", `LET PARSE_TZ = 'Australia/Brisbane' SELECT timestamp(string='2020-01-02 10:00:00') AS T FROM scope()`,
		`[{"T":"2020-01-02T00:00:00Z"}]`)
	// Without a frozen clock now() is the real time.
	real := host.NewScope(host.Options{})
	rows := run(t, real, "SELECT now() AS N FROM scope()")
	n, _ := rows[0].(*ordereddict.Dict).Get("N")
	if d := time.Now().Unix() - n.(int64); d < 0 || d > 5 {
		t.Errorf("now %v", n)
	}
}

func TestPaths(t *testing.T) {
	s := newScope(t, "", nil)
	check(t, s, "", `SELECT basename(path='/a/b/c.txt') AS B, basename(path='C:\\x\\y', path_type='windows') AS BW, `+
		`dirname(path='/a/b/c.txt') AS D, dirname(path='C:\\x\\y', path_type='windows') AS DW, dirname(path='/') AS DR, `+
		`path_join(components=['a', 'b/c']) AS J, path_join(components=['C:', 'Windows', 'x'], path_type='windows') AS JW, `+
		`path_join(components=['/a', 'we/ird'], sep='/') AS JQ, basename(path='/a/"b/c"') AS BQ FROM scope()`,
		`[{"B":"c.txt","BW":"y","D":"/a/b","DW":"C:\\x","DR":"","J":"/a/b/c","JW":"C:\\Windows\\x","JQ":"/a/we/ird","BQ":"b/c"}]`)
}

func TestStrings(t *testing.T) {
	var logs logBuf
	s := newScope(t, "", &logs)
	check(t, s, "", `SELECT base64decode(string='aGk=') AS D, base64decode(string='!!') AS Bad, base64encode(string='hi') AS E, `+
		`utf16(string=base64decode(string='aABpAA==')) AS U, strip(string='  x ') AS S1, strip(string='pre-x-suf', prefix='pre-', suffix='-suf') AS S2, `+
		`lowcase(string='AbC') AS L, upcase(string='AbC') AS Up, atoi(string='0x10') AS A, atoi(string='z') AS A0, `+
		`int(int=3.9) AS I, int(int='12') AS I2, str(str=12) AS St, join(array=['a','b'], sep='-') AS J FROM scope()`,
		`[{"D":"hi","Bad":null,"E":"aGk=","U":"hi","S1":"x","S2":"x","L":"abc","Up":"ABC","A":16,"A0":0,"I":3,"I2":12,"St":"12","J":"a-b"}]`)
	check(t, s, "", `SELECT log(message='hello %v', args=[1]) AS A, log(message='hello %v', args=[1]) AS B, log(message='warn', level='warn') AS C FROM scope()`,
		`[{"A":true,"B":true,"C":true}]`)
	if got := strings.Count(logs.String(), "DEFAULT:hello 1"); got != 1 {
		t.Errorf("dedup: %q", logs.String())
	}
	if !strings.Contains(logs.String(), "WARN:warn") {
		t.Errorf("level: %q", logs.String())
	}
}

func TestListMatchesRegistration(t *testing.T) {
	registered := map[string]bool{}
	for _, p := range builtins.Plugins() {
		registered["plugin:"+p.Info(nil, nil).Name] = true
	}
	for _, f := range builtins.Functions() {
		registered["function:"+f.Info(nil, nil).Name] = true
	}
	listed := map[string]bool{}
	for _, e := range builtins.List {
		k := e.Kind + ":" + e.Name
		if !registered[k] {
			t.Errorf("%s listed but not registered", k)
		}
		listed[k] = true
	}
	for k := range registered {
		if !listed[k] {
			t.Errorf("%s registered but not in List", k)
		}
	}
}

func TestGetAndParseCSV(t *testing.T) {
	s := host.NewScope(host.Options{Env: ordereddict.NewDict().Set("Flag", "Y").Set("D", ordereddict.NewDict().Set("a", ordereddict.NewDict().Set("b", 2)))})
	check(t, s, "", `SELECT get(field='Flag') AS F, get(field='Nope', default=5) AS Def, get(item=D, member='a.b') AS M, `+
		`get(item=D, field='a') AS Fi, get(field='Flag') = TRUE OR get(field='Flag') =~ '^(Y|TRUE|YES|OK)$' AS Bool FROM scope()`,
		`[{"F":"Y","Def":5,"M":2,"Fi":{"b":2},"Bool":true}]`)
	check(t, s, "", `SELECT * FROM parse_csv(filename='Name,N,F,B,J,L\nx,1,1.5,true,"{""k"":1}","[1,""a""]"\n y, 2\n', accessor='data')`,
		`[{"Name":"x","N":1,"F":1.5,"B":true,"J":{"k":1},"L":[1,"a"]},{"Name":"y","N":2,"F":"","B":"","J":"","L":""}]`)
	check(t, s, "", `SELECT * FROM parse_csv(filename='a;b\n1;2\n', accessor='data', separator=';', auto_headers=TRUE)`,
		`[{"Col0":"a","Col1":"b"},{"Col0":1,"Col1":2}]`)
	check(t, s, "", `SELECT read_file(filename='inline text', accessor='data') AS R, read_file(filename='Flag', accessor='scope') AS S, `+
		`read_file(filename='Nope', accessor='scope') AS N FROM scope()`,
		`[{"R":"inline text","S":"Y","N":""}]`)
}

func TestRecordsWithRegexTerminates(t *testing.T) {
	dir := fixture(t)
	s := newScope(t, dir, nil)
	rows := run(t, s, `SELECT * FROM parse_records_with_regex(file=D + '/records.txt', regex='(x*)')`)
	if len(rows) == 0 || len(rows) > 10 {
		t.Fatalf("rows: %d", len(rows))
	}
}

func TestProtocols(t *testing.T) {
	s := newScope(t, "", nil)
	check(t, s, "", `SELECT dict(A=1, B=2) + dict(A=3, X=1) AS Add, dict(A=1, B=2) - dict(A=0) AS Sub, dict(A=1, B=2) * dict(B=0) AS Mul, `+
		`10 =~ "1" AS RNum, timestamp(epoch=1666796776) =~ "2022" AS RTime, dict(Foo="bar") =~ "ba" AS RDict, `+
		`if(condition=timestamp(epoch=0), then="t", else="f") AS BTime, if(condition=dict(), then="t", else="f") AS BDict, `+
		`TRUE = "Y" AS Eq1, FALSE = "Y" AS Eq2 FROM scope()`,
		`[{"Add":{"A":3,"B":2,"X":1},"Sub":{"B":2},"Mul":{"B":2},"RNum":true,"RTime":true,"RDict":true,"BTime":"f","BDict":"f","Eq1":true,"Eq2":false}]`)
}
