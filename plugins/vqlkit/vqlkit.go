// Package vqlkit holds the small pieces every azvql plugin shares to keep
// the plugin contract (docs/design.md): NULL for absent values, UTC times,
// cancellable sends, log lines that name the plugin and file.
package vqlkit

import (
	"context"
	"fmt"
	"time"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

// Send emits a row unless the query was cancelled; false means stop.
func Send(ctx context.Context, out chan<- vfilter.Row, row *ordereddict.Dict) bool {
	select {
	case <-ctx.Done():
		return false
	case out <- row:
		return true
	}
}

// Logf writes one line to the query log, prefixed with the plugin name.
func Logf(scope vfilter.Scope, plugin, format string, args ...interface{}) {
	scope.Log("%s: %s", plugin, fmt.Sprintf(format, args...))
}

// Time is t in UTC, or nil (NULL) for the zero time.
func Time(t time.Time) interface{} {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Str is s, or nil (NULL) when empty.
func Str(s string) interface{} {
	if s == "" {
		return nil
	}
	return s
}

// Int is *p, or nil (NULL) when p is nil.
func Int(p *int64) interface{} {
	if p == nil {
		return nil
	}
	return *p
}

const rowBuffer = 64

// Run starts a plugin the way every azvql plugin starts: it parses args
// into a (an unknown, missing or ill-typed argument is an error, see
// ParseArgs, and no rows), turns a panic in
// body into a log line ("never panics on bad input"), and closes the row
// channel when body returns. The channel holds up to rowBuffer rows so a
// parser is not switched out for every row it emits (a LIMIT that stops
// the query leaves at most that many rows unread).
func Run(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict,
	plugin string, a interface{}, body func(out chan vfilter.Row)) <-chan vfilter.Row {
	out := make(chan vfilter.Row, rowBuffer)
	go func() {
		defer close(out)
		defer func() {
			if r := recover(); r != nil {
				Logf(scope, plugin, "internal error: %v", r)
			}
		}()
		if !ParseArgs(ctx, scope, args, plugin, a) {
			return
		}
		body(out)
	}()
	return out
}

// Redact is the value of a plugin's redact argument: true unless the
// caller passed it (secrets are redacted by default).
func Redact(args *ordereddict.Dict, v bool) bool {
	if _, ok := args.Get("redact"); !ok {
		return true
	}
	return v
}

// NumberInt64 is v as an int64 when it is a Go number of any width (a
// float truncated toward zero); ok is false for anything else, strings
// included: callers differ on which string forms they accept.
func NumberInt64(v any) (int64, bool) {
	switch t := v.(type) {
	case int:
		return int64(t), true
	case int8:
		return int64(t), true
	case int16:
		return int64(t), true
	case int32:
		return int64(t), true
	case int64:
		return t, true
	case uint:
		return int64(t), true
	case uint8:
		return int64(t), true
	case uint16:
		return int64(t), true
	case uint32:
		return int64(t), true
	case uint64:
		return int64(t), true
	case float32:
		return int64(t), true
	case float64:
		return int64(t), true
	}
	return 0, false
}
