package builtins

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/araddon/dateparse"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/protocols"
	"www.velocidex.com/golang/vfilter/types"

	// Timezones named by TZ / PARSE_TZ must resolve on every host.
	_ "time/tzdata"
)

var errInvalidTime = errors.New("Invalid time")

// parseLocation is the timezone strings are parsed in: PARSE_TZ, else
// TZ, else UTC (Velociraptor's getTimezone).
func parseLocation(scope vfilter.Scope) *time.Location {
	for _, name := range []string{"PARSE_TZ", "TZ"} {
		v, pres := scope.Resolve(name)
		if !pres {
			continue
		}
		// Velociraptor materializes the variable (LET TZ = 'x' is lazy).
		v = materialize(scope, v)
		s, ok := v.(string)
		if !ok {
			continue
		}
		if name == "PARSE_TZ" && strings.ToLower(s) == "local" {
			return time.Local
		}
		loc, err := time.LoadLocation(s)
		if err != nil {
			scope.Log("Unable to load timezone from %s %v: %v, using UTC", name, s, err)
			return time.UTC
		}
		return loc
	}
	return time.UTC
}

func toInt64(v vfilter.Any) (int64, bool) {
	if t, ok := v.(string); ok {
		i, err := strconv.ParseInt(t, 0, 64)
		return i, err == nil
	}
	return vqlkit.NumberInt64(v)
}

// parseTimeFromInt64 guesses seconds, milliseconds, microseconds or
// nanoseconds from the magnitude (Velociraptor's utils.ParseTimeFromInt64).
func parseTimeFromInt64(t int64) time.Time {
	var sec, dec int64
	switch {
	case t > 20000000000000000:
		dec = t
	case t > 20000000000000:
		dec = t * 1000
	case t > 20000000000:
		dec = t * 1000000
	default:
		sec = t
	}
	if sec == 0 && dec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, dec)
}

// timeFromAny is Velociraptor's functions.TimeFromAny.
func timeFromAny(ctx context.Context, scope vfilter.Scope, v vfilter.Any) (time.Time, error) {
	var sec, dec int64
	switch t := v.(type) {
	case vfilter.LazyExpr:
		return timeFromAny(ctx, scope, t.ReduceWithScope(ctx, scope))
	case float64:
		s, d := math.Modf(t)
		sec, dec = int64(s), int64(d*1e9)
	case string:
		if t == "" {
			return time.Time{}, nil
		}
		if i, err := strconv.ParseInt(t, 0, 64); err == nil {
			return timeFromAny(ctx, scope, i)
		}
		return dateparse.ParseIn(t, parseLocation(scope))
	case time.Time:
		return t, nil
	case *time.Time:
		if t == nil {
			return time.Time{}, errInvalidTime
		}
		return *t, nil
	case nil, types.Null, *types.Null:
		return time.Time{}, errInvalidTime
	default:
		i, ok := toInt64(v)
		if !ok {
			return time.Time{}, errInvalidTime
		}
		return parseTimeFromInt64(i), nil
	}
	if sec == 0 && dec == 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, dec), nil
}

// TimestampArgs are Velociraptor's timestamp() arguments.
type TimestampArgs struct {
	Epoch       vfilter.Any `vfilter:"optional,field=epoch"`
	CocoaTime   int64       `vfilter:"optional,field=cocoatime"`
	MacTime     int64       `vfilter:"optional,field=mactime,doc=HFS+"`
	WinFileTime int64       `vfilter:"optional,field=winfiletime"`
	String      string      `vfilter:"optional,field=string,doc=Guess a timestamp from a string"`
	Format      string      `vfilter:"optional,field=format,doc=A format specifier as per the Golang time.Parse"`
}

// TimestampFunction is Velociraptor's timestamp() (it replaces
// vfilter's simpler one).
type TimestampFunction struct{}

func (TimestampFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &TimestampArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "timestamp", arg) {
		return vfilter.Null{}
	}
	if arg.CocoaTime > 0 {
		return time.Unix(arg.CocoaTime+978307200, 0).UTC()
	}
	if arg.MacTime > 0 {
		return time.Unix(arg.MacTime-2082844800, 0).UTC()
	}
	if arg.WinFileTime > 0 {
		return time.Unix(arg.WinFileTime/10000000-11644473600, 0).UTC()
	}
	if arg.String != "" {
		arg.Epoch = arg.String
	}
	if arg.Format != "" {
		if s, ok := arg.Epoch.(string); ok {
			t, err := time.ParseInLocation(arg.Format, s, parseLocation(scope))
			if err != nil {
				return vfilter.Null{}
			}
			return t.UTC()
		}
	}
	t, err := timeFromAny(ctx, scope, arg.Epoch)
	if err != nil {
		return vfilter.Null{}
	}
	return t.UTC()
}

func (TimestampFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "timestamp",
		Doc:     "Convert from different types to a time.Time.",
		ArgType: typeMap.AddType(scope, &TimestampArgs{}),
		Version: 2,
	}
}

// TimestampFormatArgs are Velociraptor's timestamp_format() arguments.
type TimestampFormatArgs struct {
	Time   vfilter.Any `vfilter:"required,field=time,doc=Time to format"`
	Format string      `vfilter:"optional,field=format,doc=A format specifier as per the Golang time.Format. Additionally any constants specified in https://pkg.go.dev/time#pkg-constants can be used."`
}

var timeLayouts = map[string]string{
	"Layout": time.Layout, "ANSIC": time.ANSIC, "UnixDate": time.UnixDate,
	"RubyDate": time.RubyDate, "RFC822": time.RFC822, "RFC822Z": time.RFC822Z,
	"RFC850": time.RFC850, "RFC1123": time.RFC1123, "RFC1123Z": time.RFC1123Z,
	"RFC3339": time.RFC3339, "RFC3339Nano": time.RFC3339Nano, "Kitchen": time.Kitchen,
	"Stamp": time.Stamp, "StampMilli": time.StampMilli, "StampMicro": time.StampMicro,
	"StampNano": time.StampNano, "DateTime": time.DateTime, "DateOnly": time.DateOnly,
	"TimeOnly": time.TimeOnly,
}

// TimestampFormatFunction is timestamp_format().
type TimestampFormatFunction struct{}

func (TimestampFormatFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &TimestampFormatArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "timestamp_format", arg) {
		return vfilter.Null{}
	}
	t, err := timeFromAny(ctx, scope, arg.Time)
	if err != nil {
		return vfilter.Null{}
	}
	format, ok := timeLayouts[arg.Format]
	if !ok {
		format = arg.Format
	}
	if format == "" {
		format = time.RFC3339
	}
	return t.In(parseLocation(scope)).Format(format)
}

func (TimestampFormatFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "timestamp_format",
		Doc:     "Format a timestamp into a string.",
		ArgType: typeMap.AddType(scope, &TimestampFormatArgs{}),
		Version: 1,
	}
}

// NowFunction is now(): seconds since the epoch from the wall clock,
// always. Velociraptor v0.75.2's now() (vql/functions/functions.go,
// _Now.Call) calls time.Now() directly, so the golden runner's mocked
// clock (utils.MockTime) does not reach it; the scope's clock (Now) is
// only for what Velociraptor reads through utils.GetTime(), such as
// log()'s dedup.
type NowFunction struct{}

func (NowFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	return time.Now().Unix()
}

func (NowFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name: "now",
		Doc:  "Returns current time in seconds since epoch.",
	}
}

func isTime(a vfilter.Any) (time.Time, bool) {
	switch t := a.(type) {
	case time.Time:
		return t, true
	case *time.Time:
		if t != nil {
			return *t, true
		}
	}
	return time.Time{}, false
}

// timeStringProtocol compares a time with a string by parsing the
// string (Velociraptor's _TimeLtString / _TimeGtString), so
// Mtime > "2024-01-01" works.
type timeStringProtocol struct{}

func (timeStringProtocol) times(scope vfilter.Scope, a, b vfilter.Any) (time.Time, time.Time, bool) {
	if at, ok := isTime(a); ok {
		if bs, ok := b.(string); ok {
			bt, err := dateparse.ParseIn(bs, parseLocation(scope))
			return at, bt, err == nil
		}
	}
	if bt, ok := isTime(b); ok {
		if as, ok := a.(string); ok {
			at, err := dateparse.ParseIn(as, parseLocation(scope))
			return at, bt, err == nil
		}
	}
	return time.Time{}, time.Time{}, false
}

func (timeStringProtocol) Applicable(a, b vfilter.Any) bool {
	_, at := isTime(a)
	_, bs := b.(string)
	if at && bs {
		return true
	}
	_, bt := isTime(b)
	_, as := a.(string)
	return bt && as
}

// TimeLtString is the < protocol for time/string pairs.
type TimeLtString struct{ timeStringProtocol }

func (p TimeLtString) Lt(scope vfilter.Scope, a, b vfilter.Any) bool {
	at, bt, ok := p.times(scope, a, b)
	return ok && at.Before(bt)
}

// TimeGtString is the > protocol for time/string pairs.
type TimeGtString struct{ timeStringProtocol }

func (p TimeGtString) Gt(scope vfilter.Scope, a, b vfilter.Any) bool {
	at, bt, ok := p.times(scope, a, b)
	return ok && at.After(bt)
}

var exportedTimeFields = []string{
	"Day", "Hour", "ISOWeek", "IsDST", "IsZero", "Minute",
	"Month", "Nanosecond", "Second", "String", "UTC",
	"Unix", "UnixMicro", "UnixMilli", "UnixNano",
	"Weekday", "Year", "YearDay", "Zone"}

// TimeAssociative makes t.String RFC 3339 in UTC and exposes the
// time.Time methods (t.Unix, t.Year...), as Velociraptor does.
type TimeAssociative struct{}

func (TimeAssociative) Applicable(a, b vfilter.Any) bool {
	_, ok := isTime(a)
	_, s := b.(string)
	return ok && s
}

func (TimeAssociative) Associative(scope vfilter.Scope, a, b vfilter.Any) (vfilter.Any, bool) {
	t, ok := isTime(a)
	if !ok {
		return &vfilter.Null{}, false
	}
	method, _ := b.(string)
	if method == "String" {
		return t.UTC().Format(time.RFC3339), true
	}
	return protocols.DefaultAssociative{}.Associative(scope, a, method)
}

func (TimeAssociative) GetMembers(scope vfilter.Scope, a vfilter.Any) []string {
	return exportedTimeFields
}

// materialize is Velociraptor's vql.Materialize for a scalar variable.
func materialize(scope vfilter.Scope, v vfilter.Any) vfilter.Any {
	ctx := context.Background()
	switch t := v.(type) {
	case types.LazyExpr:
		return t.Reduce(ctx)
	case types.StoredExpression:
		return t.Reduce(ctx, scope)
	}
	return v
}
