package builtins

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/Velocidex/json"
	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// ParseJsonFunctionArg are Velociraptor's parse_json* arguments.
type ParseJsonFunctionArg struct {
	Data string `vfilter:"required,field=data,doc=Json encoded string."`
}

// parseJSONObject decodes a JSON object into an ordered dict (keys in
// file order; numbers int64 when whole, else float64), as Velociraptor's
// utils.ParseJsonToObject.
func parseJSONObject(b []byte) (*ordereddict.Dict, error) {
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("Invalid JSON object")
	}
	item := ordereddict.NewDict()
	err := json.Unmarshal(b, &item)
	return item, err
}

// ParseJsonFunction is parse_json().
type ParseJsonFunction struct{}

func (ParseJsonFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &ParseJsonFunctionArg{}
	if !vqlkit.ParseArgs(ctx, scope, args, "parse_json", arg) {
		return &vfilter.Null{}
	}
	result, err := parseJSONObject([]byte(arg.Data))
	if err != nil {
		scope.Log("parse_json: %v", err)
		return &vfilter.Null{}
	}
	return result
}

func (ParseJsonFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "parse_json",
		Doc:     "Parse a JSON string into an object.",
		ArgType: typeMap.AddType(scope, &ParseJsonFunctionArg{}),
	}
}

func parseJSONArray(scope vfilter.Scope, data string) vfilter.Any {
	data = strings.TrimSpace(data)
	raw := []json.RawMessage{}
	if data == "" {
		return raw
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		scope.Log("parse_json_array: %v", err)
		return &vfilter.Null{}
	}
	result := make([]vfilter.Any, 0, len(raw))
	for _, item := range raw {
		d, err := parseJSONObject(item)
		if err != nil {
			var v interface{}
			if err := json.Unmarshal(item, &v); err != nil {
				scope.Log("parse_json_array: %v", err)
				return &vfilter.Null{}
			}
			result = append(result, v)
			continue
		}
		result = append(result, d)
	}
	return result
}

// ParseJsonArray is the parse_json_array() function.
type ParseJsonArray struct{}

func (ParseJsonArray) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &ParseJsonFunctionArg{}
	if !vqlkit.ParseArgs(ctx, scope, args, "parse_json_array", arg) {
		return &vfilter.Null{}
	}
	return parseJSONArray(scope, arg.Data)
}

func (ParseJsonArray) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "parse_json_array",
		Doc:     "Parse a JSON string into an array.",
		ArgType: typeMap.AddType(scope, &ParseJsonFunctionArg{}),
	}
}

// ParseJsonArrayPlugin is the parse_json_array() plugin: one row per
// element.
type ParseJsonArrayPlugin struct{}

func (ParseJsonArrayPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &ParseJsonFunctionArg{}
		if !vqlkit.ParseArgs(ctx, scope, args, "parse_json_array", arg) {
			return
		}
		items, ok := parseJSONArray(scope, arg.Data).([]vfilter.Any)
		if !ok {
			return
		}
		for _, item := range items {
			select {
			case <-ctx.Done():
				return
			case out <- item:
			}
		}
	}()
	return out
}

func (ParseJsonArrayPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_json_array",
		Doc:     "Parses events from a line oriented json file.",
		ArgType: typeMap.AddType(scope, &ParseJsonFunctionArg{}),
	}
}

// ParseJsonlPluginArgs are Velociraptor's parse_jsonl() arguments.
type ParseJsonlPluginArgs struct {
	Filename string `vfilter:"required,field=filename,doc=JSON file to open"`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor to use"`
}

// ParseJsonlPlugin is parse_jsonl(): one row per JSON line; lines that
// are not objects become a row with a _value column; invalid lines are
// skipped with a log message.
type ParseJsonlPlugin struct{}

func (ParseJsonlPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &ParseJsonlPluginArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "parse_jsonl", arg) {
			return
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("parse_jsonl: %v", err)
			return
		}
		fd, err := acc.Open(arg.Filename)
		if err != nil {
			scope.Log("Unable to open file %s: %v", arg.Filename, err)
			return
		}
		defer fd.Close()
		reader := bufio.NewReader(fd)
		count := 0
		logged := false
		for {
			if ctx.Err() != nil {
				return
			}
			line, err := reader.ReadBytes('\n')
			if len(line) == 0 {
				return
			}
			if err != nil && !errors.Is(err, io.EOF) {
				scope.Log("parse_jsonl: %v", err)
				return
			}
			if len(line) == 1 {
				continue
			}
			count++
			var item vfilter.Row
			if line[0] == '{' {
				d, err := parseJSONObject(line)
				if err != nil {
					if !logged {
						scope.Log("parse_jsonl: error at line %v: %v skipping all invalid lines", count, err)
						logged = true
					}
					continue
				}
				item = d
			} else {
				var v interface{}
				if err := json.Unmarshal(line, &v); err != nil {
					if !logged {
						scope.Log("parse_jsonl: error at line %v: %v skipping all invalid lines", count, err)
						logged = true
					}
					continue
				}
				item = ordereddict.NewDict().Set("_value", v)
			}
			select {
			case <-ctx.Done():
				return
			case out <- item:
			}
		}
	}()
	return out
}

func (ParseJsonlPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_jsonl",
		Doc:     "Parses a line oriented json file.",
		ArgType: typeMap.AddType(scope, &ParseJsonlPluginArgs{}),
	}
}

// ScannerPluginArgs are Velociraptor's parse_lines() arguments.
type ScannerPluginArgs struct {
	Filenames  []string `vfilter:"required,field=filename,doc=A list of log files to parse."`
	Accessor   string   `vfilter:"optional,field=accessor,doc=The accessor to use."`
	BufferSize int      `vfilter:"optional,field=buffer_size,doc=Maximum size of line buffer."`
}

// ParseLinesPlugin is parse_lines(): one row {Line} per line; gzip files
// are decompressed; a UTF-8 BOM on the first line is dropped; lines
// longer than buffer_size (64 KiB by default) stop the file with a log
// message, as in Velociraptor.
type ParseLinesPlugin struct{}

func openMaybeGzip(acc evidence.Accessor, name string) (io.ReadCloser, error) {
	fd, err := acc.Open(name)
	if err != nil {
		return nil, err
	}
	seeker, ok := fd.(io.Seeker)
	if !ok {
		return fd, nil
	}
	if zr, err := gzip.NewReader(fd); err == nil {
		return &gzipFile{Reader: zr, f: fd}, nil
	}
	if off, err := seeker.Seek(0, io.SeekStart); err == nil && off == 0 {
		return fd, nil
	}
	fd.Close()
	return acc.Open(name)
}

type gzipFile struct {
	*gzip.Reader
	f io.Closer
}

func (g *gzipFile) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

func (ParseLinesPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		arg := &ScannerPluginArgs{}
		if !vqlkit.ParseArgs(ctx, scope, args, "parse_lines", arg) {
			return
		}
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("parse_lines: %v", err)
			return
		}
		for _, name := range arg.Filenames {
			if !scanLines(ctx, scope, acc, name, arg.BufferSize, out) {
				return
			}
		}
	}()
	return out
}

func scanLines(ctx context.Context, scope vfilter.Scope, acc evidence.Accessor, name string,
	bufSize int, out chan<- vfilter.Row) bool {
	fd, err := openMaybeGzip(acc, name)
	if err != nil {
		scope.Log("parse_lines: %v", err)
		return true
	}
	defer fd.Close()
	scanner := bufio.NewScanner(fd)
	if bufSize > 0 {
		scanner.Buffer(make([]byte, bufSize), bufSize)
	}
	first := true
	for scanner.Scan() {
		line := scanner.Text()
		if first {
			line = strings.TrimPrefix(line, "\xef\xbb\xbf")
			first = false
		}
		select {
		case <-ctx.Done():
			return false
		case out <- ordereddict.NewDict().Set("Line", line):
		}
	}
	if err := scanner.Err(); err != nil {
		scope.Log("parse_lines: %v", err)
	}
	return true
}

func (ParseLinesPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_lines",
		Doc:     "Parse a file separated into lines.",
		ArgType: typeMap.AddType(scope, &ScannerPluginArgs{}),
	}
}

// ParseFileWithRegexArgs are Velociraptor's parse_records_with_regex()
// arguments.
type ParseFileWithRegexArgs struct {
	Filenames  []string `vfilter:"required,field=file,doc=A list of files to parse."`
	Regex      []string `vfilter:"required,field=regex,doc=A list of regex to apply to the file data."`
	Accessor   string   `vfilter:"optional,field=accessor,doc=The accessor to use."`
	BufferSize int      `vfilter:"optional,field=buffer_size,doc=Maximum size of line buffer (default 64kb)."`
}

// ParseRecordsWithRegex is parse_records_with_regex(): rows of FullPath
// and the capture groups (named, else g1, g2...). Regexes are
// case-insensitive; the file is scanned through a buffer of buffer_size.
type ParseRecordsWithRegex struct{}

func (ParseRecordsWithRegex) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	arg := &ParseFileWithRegexArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "parse_records_with_regex", arg) {
		close(out)
		return out
	}
	var res []*regexp.Regexp
	var captures []string
	for _, r := range arg.Regex {
		re, err := regexp.Compile("(?i)" + r)
		if err != nil {
			scope.Log("Unable to compile regex %s", r)
			close(out)
			return out
		}
		res = append(res, re)
		for _, n := range re.SubexpNames() {
			if n != "" && !contains(captures, n) {
				captures = append(captures, n)
			}
		}
	}
	go func() {
		defer close(out)
		acc, err := evidence.Get(scope, arg.Accessor)
		if err != nil {
			scope.Log("error: %v", err)
			return
		}
		for _, name := range arg.Filenames {
			if !regexRecords(ctx, scope, acc, name, arg.BufferSize, res, captures, out) {
				return
			}
		}
	}()
	return out
}

func regexRecords(ctx context.Context, scope vfilter.Scope, acc evidence.Accessor, name string,
	bufSize int, res []*regexp.Regexp, captures []string, out chan<- vfilter.Row) bool {
	fd, err := acc.Open(name)
	if err != nil {
		scope.Log("Unable to open file %s", name)
		return true
	}
	defer fd.Close()
	if bufSize <= 0 {
		bufSize = 64 * 1024
	}
	offset := 0
	buffer := make([]byte, bufSize)
next:
	for {
		n, _ := fd.Read(buffer[offset:])
		if n == 0 && offset == 0 {
			return true
		}
		end := n + offset
		for _, r := range res {
			hits := r.FindSubmatchIndex(buffer[:end])
			if len(hits) < 2 {
				continue
			}
			names := r.SubexpNames()
			row := ordereddict.NewDict().Set("FullPath", name)
			for _, c := range captures {
				row.Set(c, "")
			}
			if len(hits)%2 == 0 {
				for i := 2; i < len(hits); i += 2 {
					s, e := hits[i], hits[i+1]
					if s < 0 || e < 0 {
						continue
					}
					key := fmt.Sprintf("g%d", i/2)
					if names[i/2] != "" {
						key = names[i/2]
					}
					row.Set(key, string(buffer[s:e]))
				}
			}
			select {
			case <-ctx.Done():
				return false
			case out <- row:
				if hits[1] == 0 {
					// An empty match at the start makes no progress:
					// drop the buffer rather than loop forever.
					offset = 0
					continue next
				}
				offset = copy(buffer, buffer[hits[1]:end])
				continue next
			}
		}
		offset = 0
	}
}

func (ParseRecordsWithRegex) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_records_with_regex",
		Doc:     "Parses a file with a set of regexp and yields matches as records.",
		ArgType: typeMap.AddType(scope, &ParseFileWithRegexArgs{}),
	}
}

// ParseStringWithRegexArgs are Velociraptor's parse_string_with_regex()
// arguments.
type ParseStringWithRegexArgs struct {
	String string   `vfilter:"required,field=string,doc=A string to parse."`
	Regex  []string `vfilter:"required,field=regex,doc=The regex to apply."`
}

// ParseStringWithRegex is parse_string_with_regex(): a dict of all the
// capture groups of all the regexes (case-insensitive); named groups
// that did not match are "".
type ParseStringWithRegex struct{}

func (ParseStringWithRegex) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &ParseStringWithRegexArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "parse_string_with_regex", arg) {
		return vfilter.Null{}
	}
	row := ordereddict.NewDict()
	var merged []string
	for _, r := range arg.Regex {
		re, err := compileCached(scope, "(?i)"+r)
		if err != nil {
			scope.Log("Unable to compile regex %s", r)
			return vfilter.Null{}
		}
		match := re.FindAllStringSubmatch(arg.String, -1)
		if match == nil {
			continue
		}
		names := re.SubexpNames()
		for _, n := range names {
			if n != "" && !contains(merged, n) {
				merged = append(merged, n)
			}
		}
		for _, hit := range match {
			for idx, sub := range hit {
				if idx == 0 {
					continue
				}
				key := fmt.Sprintf("g%d", idx)
				if names[idx] != "" {
					key = names[idx]
				}
				row.Set(key, sub)
			}
		}
	}
	for _, n := range merged {
		if _, pres := row.Get(n); !pres {
			row.Set(n, "")
		}
	}
	return row
}

func (ParseStringWithRegex) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name: "parse_string_with_regex",
		Doc: "Parse a string with a set of regex and extract fields. Returns " +
			"a dict with fields populated from all regex capture variables.",
		ArgType: typeMap.AddType(scope, &ParseStringWithRegexArgs{}),
	}
}

// RegexReplaceArgs are Velociraptor's regex_replace() arguments.
type RegexReplaceArgs struct {
	Source        string `vfilter:"required,field=source,doc=The source string to replace."`
	Replace       string `vfilter:"optional,field=replace,doc=The substitute string."`
	ReplaceLambda string `vfilter:"optional,field=replace_lambda,doc=Optionally the replacement can be a lambda."`
	Re            string `vfilter:"required,field=re,doc=A regex to apply"`
}

// RegexReplace is regex_replace() (case-insensitive; $1 in replace).
type RegexReplace struct{}

func (RegexReplace) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &RegexReplaceArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "regex_replace", arg) {
		return vfilter.Null{}
	}
	re, err := compileCached(scope, "(?i)"+arg.Re)
	if err != nil {
		scope.Log("Unable to compile regex %s", arg.Re)
		return vfilter.Null{}
	}
	if arg.ReplaceLambda != "" {
		lambda, err := vfilter.ParseLambda(arg.ReplaceLambda)
		if err != nil {
			scope.Log("regex_replace: Unable to compile lambda %s", arg.ReplaceLambda)
			return vfilter.Null{}
		}
		return re.ReplaceAllStringFunc(arg.Source, func(s string) string {
			return fmt.Sprintf("%v", lambda.Reduce(ctx, scope, []types.Any{s}))
		})
	}
	return re.ReplaceAllString(arg.Source, arg.Replace)
}

func (RegexReplace) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name: "regex_replace",
		Doc: "Search and replace a string with a regexp. " +
			"Note you can use $1 to replace the capture string.",
		ArgType: typeMap.AddType(scope, &RegexReplaceArgs{}),
	}
}

func compileCached(scope vfilter.Scope, expr string) (*regexp.Regexp, error) {
	if v, ok := scope.GetContext(regexCacheKey); ok {
		if c, ok := v.(*regexCache); ok {
			return c.get(expr)
		}
	}
	return regexp.Compile(expr)
}
