package host

import (
	"regexp"
	"sort"
	"strings"

	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// Arg describes one argument of a plugin or function, read from its
// vfilter struct tag through vfilter's TypeMap, as Velociraptor's
// `vql list` / `vql export` do.
type Arg struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // Go type name ("string", "int64", "Any", "vfilter.Lambda"...)
	Repeated bool   `json:"repeated,omitempty"`
	Required bool   `json:"required,omitempty"`
	Doc      string `json:"doc,omitempty"`
}

// Callable describes one plugin or function.
type Callable struct {
	Name         string         `json:"name"`
	Kind         string         `json:"type"` // "plugin" or "function"
	Version      int            `json:"version"`
	Doc          string         `json:"doc,omitempty"`
	FreeFormArgs bool           `json:"free_form_args,omitempty"`
	Args         []Arg          `json:"args"`
	ArgMap       map[string]Arg `json:"-"`
}

// Description is everything a scope can call. A name may be both a
// plugin and a function (read_file, stat, if...), hence two maps.
type Description struct {
	Plugins   map[string]*Callable
	Functions map[string]*Callable
}

// Lookup returns the plugin (kind "plugin") or function (kind
// "function") called name.
func (d *Description) Lookup(kind, name string) (*Callable, bool) {
	m := d.Functions
	if kind == "plugin" {
		m = d.Plugins
	}
	c, ok := m[name]
	return c, ok
}

// List is every callable sorted by name, plugins before functions.
func (d *Description) List() []*Callable {
	out := make([]*Callable, 0, len(d.Plugins)+len(d.Functions))
	for _, c := range d.Plugins {
		out = append(out, c)
	}
	for _, c := range d.Functions {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Kind > out[j].Kind // plugin before function
	})
	return out
}

var (
	docRe   = regexp.MustCompile("doc=(.+)")
	fieldRe = regexp.MustCompile("field=([^,]+)")
)

// Describe lists every plugin and function in scope with its arguments.
func Describe(scope vfilter.Scope) *Description {
	typeMap := types.NewTypeMap()
	info := scope.Describe(typeMap)
	d := &Description{Plugins: map[string]*Callable{}, Functions: map[string]*Callable{}}
	for _, p := range info.Plugins {
		c := &Callable{Name: p.Name, Kind: "plugin", Version: p.Version, Doc: p.Doc}
		c.Args, c.ArgMap = describeArgs(scope, typeMap, p.ArgType)
		d.Plugins[p.Name] = c
	}
	for _, f := range info.Functions {
		c := &Callable{Name: f.Name, Kind: "function", Version: f.Version, Doc: f.Doc,
			FreeFormArgs: f.FreeFormArgs}
		c.Args, c.ArgMap = describeArgs(scope, typeMap, f.ArgType)
		d.Functions[f.Name] = c
	}
	return d
}

func describeArgs(scope vfilter.Scope, typeMap *vfilter.TypeMap, argType string) ([]Arg, map[string]Arg) {
	args := []Arg{}
	m := map[string]Arg{}
	if argType == "" {
		return args, m
	}
	desc, ok := typeMap.Get(scope, argType)
	if !ok || desc == nil {
		return args, m
	}
	for _, item := range desc.Fields.Items() {
		ref, ok := item.Value.(*types.TypeReference)
		if !ok {
			continue
		}
		// Only fields with a vfilter tag are arguments.
		if !strings.Contains(ref.Tag, "field=") {
			continue
		}
		a := Arg{Name: item.Key, Type: ref.Target, Repeated: ref.Repeated}
		if m := fieldRe.FindStringSubmatch(ref.Tag); m != nil {
			a.Name = m[1]
		}
		a.Type = strings.Replace(a.Type, "types.Any", "Any", 1)
		for _, opt := range strings.Split(ref.Tag, ",") {
			if opt == "required" {
				a.Required = true
			}
		}
		if m := docRe.FindStringSubmatch(ref.Tag); m != nil {
			a.Doc = m[1]
		}
		args = append(args, a)
		m[a.Name] = a
	}
	return args, m
}
