package vqlkit

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// RecordFilter is the question a log plugin answers itself (after=,
// before=, handler_regex=, levels=, events=): records it excludes are
// dropped before their row is built, so they never reach the engine.
// Each test gives the rows the same filter in VQL keeps, the artifacts'
// own (Generic.Azure.Utils InDateRange, `Handler =~ HandlerRegex`,
// `Level = 'ERROR'`):
//   - a record with no time is kept whatever the window (a missing time
//     is not evidence of innocence); the window's ends are inclusive;
//   - a record with no handler does not match a handler regex; the regex
//     is matched case-insensitively, as VQL's =~;
//   - levels and events are exact values of the Level and Event columns.
//
// The zero RecordFilter keeps everything.
type RecordFilter struct {
	After, Before time.Time
	Handler       *regexp.Regexp
	Levels        map[string]bool
	Events        map[string]bool
}

// Active reports whether the filter can drop a record.
func (f *RecordFilter) Active() bool {
	return !f.After.IsZero() || !f.Before.IsZero() || f.Handler != nil || f.Levels != nil || f.Events != nil
}

// KeepTime: t is inside the window, or unknown: zero, or at or before
// the epoch, which VQL holds false (InDateRange keeps a row whose When is
// false).
func (f *RecordFilter) KeepTime(t time.Time) bool {
	if KnownTime(t).IsZero() {
		return true
	}
	if !f.After.IsZero() && t.Before(f.After) {
		return false
	}
	return f.Before.IsZero() || !t.After(f.Before)
}

// KeepHandler: handler ("" when the record names none) matches.
func (f *RecordFilter) KeepHandler(handler string) bool {
	return f.Handler == nil || (handler != "" && f.Handler.MatchString(handler))
}

// KeepLevel: level ("" when none) is one of the levels asked for.
func (f *RecordFilter) KeepLevel(level string) bool {
	return f.Levels == nil || (level != "" && f.Levels[level])
}

// KeepEvent: event ("" when none) is one of the events asked for.
func (f *RecordFilter) KeepEvent(event string) bool {
	return f.Events == nil || (event != "" && f.Events[event])
}

// FilterArgs are the arguments of a RecordFilter; a log plugin's
// arguments struct declares the same fields with its own doc= text.
type FilterArgs struct {
	After        vfilter.Any
	Before       vfilter.Any
	HandlerRegex string
	Levels       vfilter.Any // a string or a list of strings
	Events       vfilter.Any
}

// KnownTime is t when VQL holds it true (after the epoch: the host's
// truth of a time), else the zero time: a time at or before 1970 is no
// time to InDateRange.
func KnownTime(t time.Time) time.Time {
	if t.Unix() > 0 {
		return t
	}
	return time.Time{}
}

// NewRecordFilter builds the filter of a plugin's arguments. An empty
// value (NULL, "", the zero time) sets no limit, as an empty DateAfter
// does in the artifacts; a value that is not a time or a regex that
// does not compile is an error (the caller reports it with Errorf and
// returns no rows: a typo is never an empty success).
func NewRecordFilter(a FilterArgs) (*RecordFilter, error) {
	f := &RecordFilter{}
	var err error
	if f.After, err = TimeArg(a.After); err != nil {
		return nil, fmt.Errorf("after: %w", err)
	}
	if f.Before, err = TimeArg(a.Before); err != nil {
		return nil, fmt.Errorf("before: %w", err)
	}
	// A bound VQL holds false sets no limit, as in InDateRange.
	f.After, f.Before = KnownTime(f.After), KnownTime(f.Before)
	if a.HandlerRegex != "" {
		if f.Handler, err = regexp.Compile("(?i)" + a.HandlerRegex); err != nil {
			return nil, fmt.Errorf("handler_regex: %w", err)
		}
	}
	if f.Levels, err = set(a.Levels); err != nil {
		return nil, fmt.Errorf("levels: %w", err)
	}
	if f.Events, err = set(a.Events); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return f, nil
}

// StringSet is set for other plugins' list arguments (azure_run_executions' kinds=).
func StringSet(v vfilter.Any) (map[string]bool, error) { return set(v) }

// set is the strings asked for (one string or a list of them); nil (no
// filter) for NULL, "" or an empty list. (Declared as vfilter.Any, not
// []string: vfilter's parser turns NULL into the list ["Null"].)
func set(v vfilter.Any) (map[string]bool, error) {
	var m map[string]bool
	add := func(e any) error {
		switch s := e.(type) {
		case string:
			if s != "" {
				if m == nil {
					m = map[string]bool{}
				}
				m[s] = true
			}
			return nil
		case nil, types.Null, *types.Null:
			return nil
		}
		return fmt.Errorf("%v (%T) is not a string", e, e)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		for i := 0; i < rv.Len(); i++ {
			if err := add(rv.Index(i).Interface()); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return m, add(v)
}

// timeLayouts are the strings TimeArg reads (what timestamp() prints and
// what a responder types).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// TimeArg is a time argument's value: a time (what a timestamp artifact
// parameter is), an RFC 3339 string or a date (UTC), or epoch seconds.
// NULL, "" and the zero time are the zero time (no limit).
func TimeArg(v vfilter.Any) (time.Time, error) {
	switch t := v.(type) {
	case nil, types.Null, *types.Null:
		return time.Time{}, nil
	case time.Time:
		return t, nil
	case *time.Time:
		if t == nil {
			return time.Time{}, nil
		}
		return *t, nil
	case string:
		s := strings.TrimSpace(t)
		if s == "" {
			return time.Time{}, nil
		}
		for _, l := range timeLayouts {
			if tm, err := time.ParseInLocation(l, s, time.UTC); err == nil {
				return tm, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, e.g. 2024-05-01T10:00:00Z)", t)
	case int64:
		return epoch(float64(t)), nil
	case int:
		return epoch(float64(t)), nil
	case uint64:
		return epoch(float64(t)), nil
	case float64:
		return epoch(t), nil
	}
	return time.Time{}, fmt.Errorf("%v (%T) is not a time", v, v)
}

func epoch(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9)).UTC()
}
