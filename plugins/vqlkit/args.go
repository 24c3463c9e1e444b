package vqlkit

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/arg_parser"
)

// Errorf logs an error: a line that starts with "ERROR:". Velociraptor
// logs it at level ERROR and marks the collection failed (the query
// still runs to the end); the vql command prints it and exits non-zero
// after printing the rows it has. Use it for what makes a result wrong
// or empty through the caller's mistake (a misspelt argument, a root
// that does not exist), not for a damaged evidence file, which is a
// plain Logf line and the rest is still read.
func Errorf(scope vfilter.Scope, plugin, format string, args ...interface{}) {
	scope.Log("ERROR:%s: %s", plugin, fmt.Sprintf(format, args...))
}

// Signature is the arguments a plugin or function declares.
type Signature struct {
	Names    []string // as declared, in order
	Required []string
}

// CheckArgs returns an error naming the first argument in args the
// signature does not declare, or the first required one missing; both
// list the valid arguments.
func (s Signature) CheckArgs(args *ordereddict.Dict) error {
	// Count the declared arguments present (lookups, no allocation: this
	// runs on every call of a function); only a mismatch lists the keys.
	present := 0
	for _, name := range s.Names {
		if _, ok := args.Get(name); ok {
			present++
		}
	}
	if present != args.Len() {
		for _, key := range args.Keys() {
			if !contains(s.Names, key) {
				return fmt.Errorf("unexpected argument %q (valid arguments: %s)", key, s.list())
			}
		}
	}
	for _, name := range s.Required {
		if _, ok := args.Get(name); !ok {
			return fmt.Errorf("missing required argument %q (valid arguments: %s)", name, s.list())
		}
	}
	return nil
}

func (s Signature) list() string {
	if len(s.Names) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, n := range s.Names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		if contains(s.Required, n) {
			b.WriteString(" (required)")
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var signatures sync.Map // reflect.Type -> Signature

// SignatureOf reads the arguments an arguments struct declares through
// its vfilter tags (`vfilter:"required,field=name,doc=..."`), the way
// vfilter's argument parser reads them: the field= name, else the Go
// field's name; untagged fields and "-" are not arguments.
func SignatureOf(target interface{}) Signature {
	t := reflect.TypeOf(target)
	for t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if s, ok := signatures.Load(t); ok {
		return s.(Signature)
	}
	var s Signature
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("vfilter")
			if tag == "" || tag == "-" {
				continue
			}
			name, required := f.Name, false
			for _, opt := range strings.Split(tag, ",") {
				switch {
				case opt == "required":
					required = true
				case strings.HasPrefix(opt, "field="):
					name = strings.TrimPrefix(opt, "field=")
				}
			}
			s.Names = append(s.Names, name)
			if required {
				s.Required = append(s.Required, name)
			}
		}
	}
	signatures.Store(t, s)
	return s
}

// ParseArgs fills target (a pointer to an arguments struct) from args.
// An argument target does not declare, a missing required one or a
// value of the wrong type is an error (Errorf, naming the argument and
// listing the valid ones) and ParseArgs returns false: the caller
// returns no rows (a plugin) or NULL (a function).
func ParseArgs(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict,
	name string, target interface{}) bool {
	sig := SignatureOf(target)
	if err := sig.CheckArgs(args); err != nil {
		Errorf(scope, name, "%v", err)
		return false
	}
	if err := arg_parser.ExtractArgsWithContext(ctx, scope, args, target); err != nil {
		Errorf(scope, name, "%v (valid arguments: %s)", err, sig.list())
		return false
	}
	return true
}
