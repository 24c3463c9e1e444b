// Package vqlkit holds the small pieces every azvql plugin shares to keep
// the plugin contract (DESIGN.md): NULL for absent values, UTC times,
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
