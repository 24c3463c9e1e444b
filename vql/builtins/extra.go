package builtins

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

func init() {
	// Velociraptor's "data" accessor: the path is the file's content.
	// Artifacts read csv parameters with parse_csv(filename=X,
	// accessor='data').
	evidence.Register("data", func(vfilter.Scope) (evidence.Accessor, error) { return dataAccessor{}, nil })
	// Velociraptor's "scope" accessor: the path names a scope variable
	// whose (string) value is the file's content.
	evidence.Register("scope", func(scope vfilter.Scope) (evidence.Accessor, error) {
		return scopeAccessor{scope: scope}, nil
	})
}

type scopeAccessor struct{ scope vfilter.Scope }

func (a scopeAccessor) content(path string) (string, error) {
	v, ok := a.scope.Resolve(path)
	if !ok {
		return "", &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	switch t := materialize(a.scope, v).(type) {
	case string:
		return t, nil
	case []byte:
		return string(t), nil
	}
	return fmt.Sprintf("%v", v), nil
}

func (a scopeAccessor) Lstat(path string) (evidence.FileInfo, error) {
	c, err := a.content(path)
	if err != nil {
		return evidence.FileInfo{}, err
	}
	return evidence.FileInfo{Name: path, Path: path, Size: int64(len(c)), Mode: 0o644}, nil
}

func (scopeAccessor) ReadDir(path string) ([]evidence.FileInfo, error) {
	return nil, &os.PathError{Op: "readdir", Path: path, Err: errors.New("the scope accessor has no directories")}
}

func (a scopeAccessor) Open(path string) (evidence.File, error) {
	c, err := a.content(path)
	if err != nil {
		return nil, err
	}
	return readSeekCloser{bytes.NewReader([]byte(c))}, nil
}

func (scopeAccessor) Join(dir, name string) string { return dir + name }

type dataAccessor struct{}

func (dataAccessor) Lstat(path string) (evidence.FileInfo, error) {
	return evidence.FileInfo{Name: "data", Path: path, Size: int64(len(path)), Mode: 0o644}, nil
}

func (dataAccessor) ReadDir(path string) ([]evidence.FileInfo, error) {
	return nil, &os.PathError{Op: "readdir", Path: "data", Err: errors.New("the data accessor has no directories")}
}

func (dataAccessor) Open(path string) (evidence.File, error) {
	return readSeekCloser{bytes.NewReader([]byte(path))}, nil
}

func (dataAccessor) Join(dir, name string) string { return dir + name }

type readSeekCloser struct{ *bytes.Reader }

func (readSeekCloser) Close() error { return nil }

// GetFunctionArgs are Velociraptor's get() arguments.
type GetFunctionArgs struct {
	Item    vfilter.Any `vfilter:"optional,field=item"`
	Member  string      `vfilter:"optional,field=member"`
	Field   vfilter.Any `vfilter:"optional,field=field"`
	Default vfilter.Any `vfilter:"optional,field=default"`
}

// GetFunction is Velociraptor's get() (it replaces vfilter's): with no
// item it reads the scope; field= is one key, member= a dotted path;
// default= when absent.
type GetFunction struct{}

func (GetFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &GetFunctionArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "get", arg) {
		return vfilter.Null{}
	}
	if arg.Default == nil {
		arg.Default = vfilter.Null{}
	}
	var result vfilter.Any = arg.Item
	if result == nil {
		result = scope
	}
	if arg.Field == nil && arg.Member == "" {
		scope.Log("get: either Field or Member should be specified.")
		return vfilter.Null{}
	}
	var pres bool
	if arg.Field != nil {
		result, pres = scope.Associative(result, arg.Field)
		if !pres {
			return arg.Default
		}
		return result
	}
	for _, m := range strings.Split(arg.Member, ".") {
		result, pres = scope.Associative(result, m)
		if !pres {
			return arg.Default
		}
	}
	return result
}

func (GetFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "get",
		Doc:     "Gets the member field from item.",
		ArgType: typeMap.AddType(scope, &GetFunctionArgs{}),
	}
}

// ParseCSVPluginArgs are Velociraptor's parse_csv() arguments.
type ParseCSVPluginArgs struct {
	Filenames   []string `vfilter:"required,field=filename,doc=CSV files to open"`
	Accessor    string   `vfilter:"optional,field=accessor,doc=The accessor to use"`
	AutoHeaders bool     `vfilter:"optional,field=auto_headers,doc=If unset the first row is headers"`
	Separator   string   `vfilter:"optional,field=separator,doc=Comma separator (default ',')"`
	Comment     string   `vfilter:"optional,field=comment,doc=The single character that should be considered a comment"`
	Columns     []string `vfilter:"optional,field=columns,doc=The columns to use"`
}

// ParseCSVPlugin is parse_csv(): one row per record, keyed by the header
// (or columns=, or Col0, Col1...). Cells are typed as Velociraptor's CSV
// reader does: true/false, integers, floats, JSON objects and lists,
// base64: bytes, a leading space protecting a string; else strings.
type ParseCSVPlugin struct{}

func (ParseCSVPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &ParseCSVPluginArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "parse_csv", arg) {
			return
		}
		for _, name := range arg.Filenames {
			if !parseCSVFile(ctx, scope, arg, name, out) {
				return
			}
		}
	}()
	return out
}

func parseCSVFile(ctx context.Context, scope vfilter.Scope, arg *ParseCSVPluginArgs, name string, out chan<- vfilter.Row) bool {
	acc, err := evidence.Get(scope, arg.Accessor)
	if err != nil {
		scope.Log("parse_csv: %v", err)
		return true
	}
	fd, err := acc.Open(name)
	if err != nil {
		scope.Log("Unable to open file %s: %v", name, err)
		return true
	}
	defer fd.Close()
	// Velociraptor's CSV reader swallows a UTF-8 BOM and pads or cuts
	// every record to the field count of the first one it reads.
	br := bufio.NewReader(fd)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.TrimLeadingSpace = true
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	r := &fixedFieldsReader{Reader: cr}
	if arg.Separator != "" {
		if len(arg.Separator) != 1 {
			scope.Log("parse_csv: separator can only be one character")
			return true
		}
		r.Comma = rune(arg.Separator[0])
	}
	if arg.Comment != "" {
		if len(arg.Comment) != 1 {
			scope.Log("parse_csv: comment can only be one character")
			return true
		}
		r.Comment = rune(arg.Comment[0])
	}
	columns := arg.Columns
	if !arg.AutoHeaders && len(columns) == 0 {
		columns, err = r.Read()
		if err != nil {
			return true
		}
	}
	var headers []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			scope.Log("INFO:parse_csv: %v", err)
			return true
		}
		if headers == nil {
			for i := range rec {
				if i >= len(columns) {
					headers = append(headers, fmt.Sprintf("Col%v", i))
				} else {
					headers = append(headers, columns[i])
				}
			}
		}
		row := ordereddict.NewDict()
		for i, cell := range rec {
			if i >= len(headers) {
				break
			}
			row.Set(headers[i], csvValue(cell))
		}
		select {
		case <-ctx.Done():
			return false
		case out <- row:
		}
	}
}

type fixedFieldsReader struct {
	*csv.Reader
	n int
}

func (f *fixedFieldsReader) Read() ([]string, error) {
	rec, err := f.Reader.Read()
	if err != nil {
		return rec, err
	}
	if f.n == 0 {
		f.n = len(rec)
	}
	if len(rec) > f.n {
		rec = rec[:f.n]
	} else if len(rec) < f.n {
		rec = append(rec, make([]string, f.n-len(rec))...)
	}
	return rec, nil
}

func csvValue(item string) vfilter.Any {
	switch {
	case item == "true":
		return true
	case item == "false":
		return false
	case strings.HasPrefix(item, "base64:"):
		if b, err := base64Decode(item[7:]); err == nil {
			return b
		}
		return item
	case strings.HasPrefix(item, " "):
		return item[1:]
	case strings.HasPrefix(item, "{"):
		if d, err := parseJSONObject([]byte(item)); err == nil {
			return d
		}
		return item
	case strings.HasPrefix(item, "["):
		v := []interface{}{}
		if err := json.Unmarshal([]byte(item), &v); err == nil {
			return v
		}
		return item
	}
	if i, err := strconv.Atoi(item); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(item, 64); err == nil {
		return f
	}
	return item
}

func (ParseCSVPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_csv",
		Doc:     "Parses events from a CSV file.",
		ArgType: typeMap.AddType(scope, &ParseCSVPluginArgs{}),
	}
}
