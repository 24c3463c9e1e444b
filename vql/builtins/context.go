// Package builtins holds the small set of Velociraptor (v0.75.2)
// built-in plugins and functions azvql's `vql` host provides, with
// Velociraptor's names, arguments, column names and value types, so
// artifacts run the same under `vql` and under Velociraptor. Files are
// read through plugins/evidence accessors, so accessor= means the same
// as in the azvql plugins.
package builtins

import (
	"regexp"
	"sync"
	"time"

	"www.velocidex.com/golang/vfilter"
)

// Scope context keys. The scope's context is shared by all its child
// scopes, so the values set by the host are seen by every query.
const (
	clockKey      = "$azvql_clock"
	uploaderKey   = "$azvql_uploader"
	logCacheKey   = "$azvql_log_cache"
	regexCacheKey = "$azvql_regex_cache"
)

// Clock tells the time. Golden tests freeze it (Velociraptor's golden
// runner freezes time at Unix 1590938885).
type Clock interface {
	Now() time.Time
}

// FixedClock always returns the same time.
type FixedClock time.Time

// Now returns the frozen time.
func (c FixedClock) Now() time.Time { return time.Time(c) }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// SetClock installs a clock in the scope; nil restores the real clock.
func SetClock(scope vfilter.Scope, c Clock) {
	if c == nil {
		c = realClock{}
	}
	scope.SetContext(clockKey, c)
}

// Now is the scope's current time (the real time unless a clock was set).
func Now(scope vfilter.Scope) time.Time {
	if scope != nil {
		if v, ok := scope.GetContext(clockKey); ok {
			if c, ok := v.(Clock); ok && c != nil {
				return c.Now()
			}
		}
	}
	return time.Now()
}

// SetUploader installs the uploader upload() writes to; nil removes it.
func SetUploader(scope vfilter.Scope, u Uploader) {
	scope.SetContext(uploaderKey, u)
}

// GetUploader returns the scope's uploader.
func GetUploader(scope vfilter.Scope) (Uploader, bool) {
	v, ok := scope.GetContext(uploaderKey)
	if !ok {
		return nil, false
	}
	u, ok := v.(Uploader)
	return u, ok && u != nil
}

// logCache remembers when log() last emitted each message (dedup).
type logCache struct {
	mu   sync.Mutex
	last map[string]int64
}

func getLogCache(scope vfilter.Scope) *logCache {
	if v, ok := scope.GetContext(logCacheKey); ok {
		if c, ok := v.(*logCache); ok {
			return c
		}
	}
	c := &logCache{last: map[string]int64{}}
	scope.SetContext(logCacheKey, c)
	return c
}

// Install prepares a scope for the built-ins (state shared by all the
// queries run in it). Hosts call it once, after building the scope.
func Install(scope vfilter.Scope) {
	getLogCache(scope)
	scope.SetContext(regexCacheKey, &regexCache{m: map[string]*regexp.Regexp{}})
}

// regexCache keeps compiled regexes for the life of the scope (queries
// call parse_string_with_regex once per line). It is bounded.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (c *regexCache) get(expr string) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[expr]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 1000 {
		c.m = map[string]*regexp.Regexp{}
	}
	c.m[expr] = re
	c.mu.Unlock()
	return re, nil
}
