package artifacts

import (
	"context"
	"fmt"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/arg_parser"
	"www.velocidex.com/golang/vfilter/types"
)

// Artifacts are called from VQL as plugins: `Artifact.Linux.Azure.RunCommand(Root=...)`.
// The scope variable Artifact holds a caller with no name; each
// `.Component` makes a caller one component longer (the protocol at the
// end of this file); calling it compiles the named artifact and runs its
// requests in a child scope, the arguments replacing the parameters'
// defaults. Besides the parameters a caller takes source= (one source)
// and preconditions= (run the precondition, off by default), and **=
// (a dict of arguments that replaces the others).

const (
	// maxCallDepth bounds artifacts calling artifacts.
	maxCallDepth = 10

	// ScopeStackVar holds the chain of artifacts being evaluated,
	// innermost first.
	ScopeStackVar = "$stack"
)

// caller is the Artifact pseudo plugin for one (partial) name.
type caller struct {
	path []string
	repo *Repository
}

func (c *caller) name() string { return strings.Join(c.path, ".") }

// Info describes the pseudo plugin.
func (c *caller) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: c.name(),
		Doc:  "A pseudo plugin for accessing the artifacts repository from VQL.",
	}
}

// value is v, evaluated if the argument was passed as a lazy expression.
func value(ctx context.Context, v vfilter.Any) vfilter.Any {
	if lazy, ok := v.(types.LazyExpr); ok {
		return lazy.Reduce(ctx)
	}
	return v
}

// Call runs the artifact.
func (c *caller) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	out := make(chan vfilter.Row)
	go func() {
		defer close(out)
		name, params, preconditions, ok := c.parseCall(ctx, scope, arg_parser.NormalizeArgs(args))
		if !ok {
			return
		}
		requests, err := c.repo.Compile(name, nil, CompilerOptions{DisablePrecondition: !preconditions})
		if err != nil {
			vqlkit.Errorf(scope, c.name(), "Artifact %s invalid: %v", c.name(), err)
			return
		}
		for _, r := range requests {
			if !c.run(ctx, scope, r, params, out) {
				return
			}
		}
	}()
	return out
}

// parseCall splits the call's arguments: the artifact (or
// artifact/source) to compile, the parameters, whether preconditions
// apply. A source or artifact that does not exist is an error.
func (c *caller) parseCall(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) (
	name string, params *ordereddict.Dict, preconditions, ok bool) {
	name = c.name()
	if v, present := args.Get("source"); present {
		source, isString := value(ctx, v).(string)
		if !isString {
			vqlkit.Errorf(scope, c.name(), "Source must be a string")
			return "", nil, false, false
		}
		if _, found := c.repo.Get(name + "/" + source); !found {
			vqlkit.Errorf(scope, c.name(), "Source %v not found in artifact %v", source, name)
			return "", nil, false, false
		}
		name += "/" + source
	} else if _, found := c.repo.Get(name); !found {
		vqlkit.Errorf(scope, c.name(), "Artifact %v not found", name)
		return "", nil, false, false
	}
	if v, present := args.Get("preconditions"); present {
		preconditions = scope.Bool(value(ctx, v))
	}
	params = ordereddict.NewDict()
	if v, present := args.Get("**"); present {
		if kwargs, isDict := value(ctx, v).(*ordereddict.Dict); isDict {
			args = kwargs
		}
	}
	for _, item := range args.Items() {
		if item.Key != "source" && item.Key != "preconditions" {
			params.Set(item.Key, item.Value)
		}
	}
	return name, params, preconditions, true
}

// run evaluates one request in a child scope and sends its rows (those
// of a source carry _Source); false means stop.
func (c *caller) run(ctx context.Context, scope vfilter.Scope, r *Request,
	params *ordereddict.Dict, out chan<- vfilter.Row) bool {
	child, err := ChildScope(scope, c.name())
	if err != nil {
		vqlkit.Errorf(scope, c.name(), "%v", err)
		return false
	}
	defer child.Close()

	env := ordereddict.NewDict()
	var declared []string
	for _, e := range r.Env {
		env.Set(e.Key, e.Value)
		declared = append(declared, e.Key)
	}
	for _, item := range params.Items() {
		if _, ok := env.Get(item.Key); !ok {
			vqlkit.Errorf(child, c.name(), "unknown parameter %q provided to artifact %v (valid parameters: %s)",
				item.Key, c.name(), strings.Join(declared, ", "))
			return false
		}
		env.Set(item.Key, value(ctx, item.Value))
	}
	child.AppendVars(env)

	ok, err := CheckPreconditions(ctx, child, r.Precondition)
	if err != nil {
		vqlkit.Errorf(child, c.name(), "While evaluating preconditions: %v", err)
		return false
	}
	if !ok {
		child.Log("Skipping query due to preconditions")
		return true
	}
	for _, q := range r.Queries {
		statement, err := vfilter.Parse(q.VQL)
		if err != nil {
			vqlkit.Errorf(child, c.name(), "Artifact %s invalid: %v", c.name(), err)
			return false
		}
		for row := range statement.Eval(ctx, child) {
			d := vfilter.RowToDict(ctx, child, row)
			if q.Name != "" {
				d.Set("_Source", q.Name)
			}
			select {
			case <-ctx.Done():
				return false
			case out <- d:
			}
		}
	}
	return true
}

// ChildScope is a copy of scope with name pushed on the artifact stack;
// a stack deeper than maxCallDepth (an artifact calling itself) is an
// error. The copy keeps the scope's context, so the host's settings
// (clock, uploader, accessors) reach nested artifacts.
func ChildScope(scope vfilter.Scope, name string) (vfilter.Scope, error) {
	stack := []string{name}
	if v, ok := scope.Resolve(ScopeStackVar); ok {
		if outer, ok := v.([]string); ok {
			stack = append(stack, outer...)
		}
	}
	if len(stack) > maxCallDepth {
		return nil, fmt.Errorf("Stack overflow: %s", strings.Join(stack, ", "))
	}
	child := scope.Copy()
	child.AppendVars(ordereddict.NewDict().Set(ScopeStackVar, stack))
	return child, nil
}

// CheckPreconditions is true when precondition is empty or one of its
// statements returns a row.
func CheckPreconditions(ctx context.Context, scope vfilter.Scope, precondition string) (bool, error) {
	if precondition == "" {
		return true, nil
	}
	statements, err := vfilter.MultiParse(precondition)
	if err != nil {
		return false, err
	}
	for _, s := range statements {
		for range s.Eval(ctx, scope) {
			return true, nil
		}
	}
	return false, nil
}

// memberProtocol resolves Artifact.A.B: a caller and a string make the
// caller one component longer.
type memberProtocol struct{}

func asCaller(a vfilter.Any) *caller {
	if c, ok := a.(*caller); ok {
		return c
	}
	return nil
}

func (memberProtocol) Applicable(a vfilter.Any, b vfilter.Any) bool {
	_, isString := b.(string)
	return asCaller(a) != nil && isString
}

// GetMembers lists nothing: the repository is not enumerated through it.
func (memberProtocol) GetMembers(scope vfilter.Scope, a vfilter.Any) []string { return nil }

func (memberProtocol) Associative(scope vfilter.Scope, a vfilter.Any, b vfilter.Any) (vfilter.Any, bool) {
	c := asCaller(a)
	component, isString := b.(string)
	if c == nil || !isString {
		return nil, false
	}
	path := append(append(make([]string, 0, len(c.path)+1), c.path...), component)
	return &caller{path: path, repo: c.repo}, true
}

// Install makes Artifact.* callable in scope.
func Install(scope vfilter.Scope, repo *Repository) {
	scope.AppendVars(ordereddict.NewDict().Set("Artifact", &caller{repo: repo}))
	scope.AddProtocolImpl(memberProtocol{})
}

// String describes a request in one line for logs.
func (r *Request) String() string {
	return fmt.Sprintf("%s (%d queries)", r.Artifact, len(r.Queries))
}
