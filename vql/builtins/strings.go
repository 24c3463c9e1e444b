package builtins

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Base64DecodeArgs are Velociraptor's base64decode/utf16 arguments.
type Base64DecodeArgs struct {
	String string `vfilter:"required,field=string,doc=A string to decode"`
}

// Base64Decode is base64decode() (standard alphabet; NULL on error).
type Base64Decode struct{}

func (Base64Decode) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &Base64DecodeArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "base64decode", arg) {
		return vfilter.Null{}
	}
	b, err := base64.StdEncoding.DecodeString(arg.String)
	if err != nil {
		return vfilter.Null{}
	}
	return string(b)
}

func (Base64Decode) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "base64decode",
		ArgType: typeMap.AddType(scope, &Base64DecodeArgs{}),
	}
}

// Base64Encode is base64encode().
type Base64Encode struct{}

func (Base64Encode) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &Base64DecodeArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "base64encode", arg) {
		return vfilter.Null{}
	}
	return base64.StdEncoding.EncodeToString([]byte(arg.String))
}

func (Base64Encode) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "base64encode",
		ArgType: typeMap.AddType(scope, &Base64DecodeArgs{}),
	}
}

// UTF16 is utf16(): decodes UTF-16LE bytes (an odd last byte is
// dropped, as Velociraptor does).
type UTF16 struct{}

func (UTF16) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &Base64DecodeArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "utf16", arg) {
		return vfilter.Null{}
	}
	ints := make([]uint16, len(arg.String)/2)
	if err := binary.Read(bytes.NewReader([]byte(arg.String)), binary.LittleEndian, &ints); err != nil {
		scope.Log("utf16: %s", err.Error())
		return vfilter.Null{}
	}
	return string(utf16.Decode(ints))
}

func (UTF16) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "utf16",
		Doc:     "Parse input from utf16.",
		ArgType: typeMap.AddType(scope, &Base64DecodeArgs{}),
	}
}

// StripArgs are Velociraptor's strip() arguments.
type StripArgs struct {
	String string `vfilter:"required,field=string,doc=The string to strip"`
	Prefix string `vfilter:"optional,field=prefix,doc=The prefix to strip"`
	Suffix string `vfilter:"optional,field=suffix,doc=The suffix to strip"`
}

// Strip is strip(): white space, or the given prefix and suffix.
type Strip struct{}

func (Strip) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &StripArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "strip", arg) {
		return false
	}
	if arg.Prefix == "" && arg.Suffix == "" {
		return strings.TrimSpace(arg.String)
	}
	s := arg.String
	if arg.Prefix != "" {
		s = strings.TrimPrefix(s, arg.Prefix)
	}
	if arg.Suffix != "" {
		s = strings.TrimSuffix(s, arg.Suffix)
	}
	return s
}

func (Strip) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "strip",
		Doc:     "Strip a prefix or suffix from a string.",
		ArgType: typeMap.AddType(scope, &StripArgs{}),
	}
}

// CaseArgs are Velociraptor's lowcase/upcase arguments.
type CaseArgs struct {
	String string `vfilter:"required,field=string,doc=The string to process"`
}

// Lowcase is lowcase().
type Lowcase struct{}

func (Lowcase) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &CaseArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "lowcase", arg) {
		return vfilter.Null{}
	}
	return strings.ToLower(arg.String)
}

func (Lowcase) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "lowcase",
		Doc:     "Returns the lowercase version of a string.",
		ArgType: typeMap.AddType(scope, &CaseArgs{}),
	}
}

// Upcase is upcase().
type Upcase struct{}

func (Upcase) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &CaseArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "upcase", arg) {
		return vfilter.Null{}
	}
	return strings.ToUpper(arg.String)
}

func (Upcase) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "upcase",
		Doc:     "Returns the uppercase version of a string.",
		ArgType: typeMap.AddType(scope, &CaseArgs{}),
	}
}

// AtoiArgs are Velociraptor's atoi() arguments.
type AtoiArgs struct {
	String vfilter.Any `vfilter:"required,field=string,doc=A string to convert to int"`
}

// Atoi is atoi(): the same conversion as int() (see integer).
type Atoi struct{}

func (Atoi) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &AtoiArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "atoi", arg) {
		return vfilter.Null{}
	}
	return integer(arg.String)
}

func (Atoi) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "atoi",
		Doc:     "Convert a string to an int.",
		ArgType: typeMap.AddType(scope, &AtoiArgs{}),
	}
}

// IntArgs are Velociraptor's int() arguments.
type IntArgs struct {
	Int vfilter.Any `vfilter:"optional,field=int,doc=The integer to round"`
}

// Int is int(): see integer.
type Int struct{}

func (Int) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &IntArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "int", arg) {
		return false
	}
	return integer(arg.Int)
}

// integer is v as an int64: a number truncated toward zero, a string
// parsed with its base prefix (0x, 0o, 0b, a leading 0 for octal);
// 0 for anything else, and for a string that is not a number.
func integer(v vfilter.Any) int64 {
	i, _ := toInt64(v)
	return i
}

func (Int) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "int",
		Doc:     "Truncate to an integer.",
		ArgType: typeMap.AddType(scope, &IntArgs{}),
	}
}

// StrArgs are Velociraptor's str() arguments.
type StrArgs struct {
	Str vfilter.Any `vfilter:"required,field=str,doc=The string to normalize"`
}

// Str is str().
type Str struct{}

func (Str) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &StrArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "str", arg) {
		return false
	}
	switch t := arg.Str.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	}
	return fmt.Sprintf("%v", arg.Str)
}

func (Str) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "str",
		Doc:     "Normalize a String.",
		ArgType: typeMap.AddType(scope, &StrArgs{}),
	}
}

// JoinArgs are Velociraptor's join() arguments.
type JoinArgs struct {
	Array []string `vfilter:"required,field=array,doc=The array to join"`
	Sep   string   `vfilter:"optional,field=sep,doc=The separator. Defaults to an empty string if not explicitly set"`
}

// Join is join().
type Join struct{}

func (Join) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &JoinArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "join", arg) {
		return false
	}
	return strings.Join(arg.Array, arg.Sep)
}

func (Join) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "join",
		Doc:     "Join all the args on a separator.",
		ArgType: typeMap.AddType(scope, &JoinArgs{}),
	}
}

// LogArgs are Velociraptor's log() arguments.
type LogArgs struct {
	Message   string      `vfilter:"required,field=message,doc=Message to log."`
	DedupTime int64       `vfilter:"optional,field=dedup,doc=Suppress same message in this many seconds (default 60 sec). Use -1 to disable dedup."`
	Args      vfilter.Any `vfilter:"optional,field=args,doc=An array of elements to apply into the format string."`
	Level     string      `vfilter:"optional,field=level,doc=Level to log at (DEFAULT, WARN, ERROR, INFO, DEBUG)."`
}

// Log is log(): writes "LEVEL:message" (formatted with args) to the
// query log and returns true; the same message is not repeated within
// dedup seconds of the scope's clock.
type Log struct{}

func (Log) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &LogArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "log", arg) {
		return false
	}
	if arg.DedupTime == 0 {
		arg.DedupTime = 60
	}
	cache := getLogCache(scope)
	now := Now(scope).Unix()
	cache.mu.Lock()
	last, seen := cache.last[arg.Message]
	suppress := seen && arg.DedupTime > 0 && last+arg.DedupTime > now
	if !suppress {
		if len(cache.last) > 100 {
			cache.last = map[string]int64{}
		}
		cache.last[arg.Message] = now
	}
	cache.mu.Unlock()
	if suppress {
		return true
	}
	level := strings.ToUpper(arg.Level)
	switch level {
	case "DEFAULT", "ERROR", "INFO", "WARN", "DEBUG", "ALERT":
	default:
		level = "DEFAULT"
	}
	message := fmt.Sprintf("%s:%s", level, arg.Message)
	if arg.Args != nil {
		if _, isNull := arg.Args.(vfilter.Null); !isNull {
			var fargs []interface{}
			v := reflect.ValueOf(arg.Args)
			if v.Kind() != reflect.Slice {
				fargs = append(fargs, arg.Args)
			} else {
				for i := 0; i < v.Len(); i++ {
					fargs = append(fargs, v.Index(i).Interface())
				}
			}
			message = fmt.Sprintf(message, fargs...)
		}
	}
	scope.Log("%v", message)
	return true
}

func (Log) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "log",
		Doc:     "Log the message.",
		ArgType: typeMap.AddType(scope, &LogArgs{}),
		Version: 2,
	}
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// FormatArgs are Velociraptor's format() arguments.
type FormatArgs struct {
	Format string      `vfilter:"required,field=format,doc=Format string to use"`
	Args   vfilter.Any `vfilter:"optional,field=args,doc=An array of elements to apply into the format string."`
}

// Format is Velociraptor's format() (it replaces vfilter's): like
// fmt.Sprintf, but times are formatted as RFC 3339 in UTC.
type Format struct{}

func (Format) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &FormatArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "format", arg) {
		return false
	}
	var fargs []interface{}
	if arg.Args != nil {
		v := reflect.ValueOf(arg.Args)
		if v.Kind() != reflect.Slice {
			fargs = append(fargs, arg.Args)
		} else {
			for i := 0; i < v.Len(); i++ {
				fargs = append(fargs, v.Index(i).Interface())
			}
		}
	}
	for i, v := range fargs {
		if t, ok := v.(time.Time); ok {
			fargs[i] = t.UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprintf(arg.Format, fargs...)
}

func (Format) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "format",
		Doc:     "Format one or more items according to a format string.",
		ArgType: typeMap.AddType(scope, &FormatArgs{}),
	}
}
