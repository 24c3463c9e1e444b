package artifacts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/arg_parser"
	"www.velocidex.com/golang/vfilter/types"
)

const (
	// MAX_STACK_DEPTH bounds artifacts calling artifacts.
	MAX_STACK_DEPTH = 10

	// ScopeStackVar holds the chain of artifacts being evaluated
	// (constants.SCOPE_STACK).
	ScopeStackVar = "$stack"
)

// ArtifactRepositoryPlugin is the "Artifact" pseudo plugin: the scope
// variable Artifact resolves to it, each ".Name" component extends its
// prefix through the associative protocol below, and calling it runs
// the named artifact (services/repository/plugin.go).
type ArtifactRepositoryPlugin struct {
	prefix     []string
	repository *Repository
}

// NewArtifactRepositoryPlugin returns the root "Artifact" plugin.
func NewArtifactRepositoryPlugin(repository *Repository) *ArtifactRepositoryPlugin {
	return &ArtifactRepositoryPlugin{repository: repository}
}

// Name is the artifact name the prefix spells.
func (self *ArtifactRepositoryPlugin) Name() string {
	return strings.Join(self.prefix, ".")
}

// Info describes the pseudo plugin.
func (self *ArtifactRepositoryPlugin) Info(
	scope vfilter.Scope, type_map *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: self.Name(),
		Doc:  "A pseudo plugin for accessing the artifacts repository from VQL.",
	}
}

func reduce(ctx context.Context, v vfilter.Any) vfilter.Any {
	if lazy, ok := v.(types.LazyExpr); ok {
		return lazy.Reduce(ctx)
	}
	return v
}

// Call runs the artifact.
func (self *ArtifactRepositoryPlugin) Call(
	ctx context.Context, scope vfilter.Scope,
	args *ordereddict.Dict) <-chan vfilter.Row {
	output_chan := make(chan vfilter.Row)

	go func() {
		defer close(output_chan)

		artifact_name := self.Name()
		args := arg_parser.NormalizeArgs(args)

		if v, ok := args.Get("source"); ok {
			source, ok := reduce(ctx, v).(string)
			if !ok {
				scope.Log("Source must be a string")
				return
			}
			with_source := artifact_name + "/" + source
			if _, pres := self.repository.Get(with_source); !pres {
				scope.Log("Source %v not found in artifact %v", source, artifact_name)
				return
			}
			artifact_name = with_source
		} else {
			if _, pres := self.repository.Get(artifact_name); !pres {
				scope.Log("Artifact %v not found", artifact_name)
				return
			}
		}

		// Preconditions are off unless preconditions=TRUE.
		var precondition bool
		if v, ok := args.Get("preconditions"); ok {
			precondition = scope.Bool(reduce(ctx, v))
		}

		// ** style kwargs replace the args.
		if kwargs_any, ok := args.Get("**"); ok {
			if kwargs, ok := reduce(ctx, kwargs_any).(*ordereddict.Dict); ok {
				args = kwargs
			}
		}

		requests, err := self.repository.Compile(artifact_name, nil,
			CompilerOptions{DisablePrecondition: !precondition})
		if err != nil {
			scope.Log("Artifact %s invalid: %v", self.Name(), err)
			return
		}

		for _, request := range requests {
			if !self.evalRequest(ctx, scope, request, args, output_chan) {
				return
			}
		}
	}()

	return output_chan
}

// evalRequest runs one compiled request in a child scope; false means
// stop (cancelled or fatal).
func (self *ArtifactRepositoryPlugin) evalRequest(
	ctx context.Context, scope vfilter.Scope, request *Request,
	args *ordereddict.Dict, output_chan chan<- vfilter.Row) bool {

	child_scope, err := ChildScope(scope, self.Name())
	if err != nil {
		scope.Log("Error: %v", err)
		return false
	}
	defer child_scope.Close()

	env := ordereddict.NewDict()
	for _, e := range request.Env {
		env.Set(e.Key, e.Value)
	}

	// Args override the defaults; anything else is an error.
	for _, i := range args.Items() {
		if i.Key == "source" || i.Key == "preconditions" {
			continue
		}
		if _, pres := env.Get(i.Key); !pres {
			child_scope.Log("Unknown parameter %s provided to artifact %v",
				i.Key, self.Name())
			return false
		}
		env.Set(i.Key, reduce(ctx, i.Value))
	}
	child_scope.AppendVars(env)

	ok, err := CheckPreconditions(ctx, child_scope, request.Precondition)
	if err != nil {
		child_scope.Log("While evaluating preconditions: %v", err)
		return false
	}
	if !ok {
		child_scope.Log("Skipping query due to preconditions")
		return true
	}

	for _, query := range request.Queries {
		vql, err := vfilter.Parse(query.VQL)
		if err != nil {
			child_scope.Log("Artifact %s invalid: %s", self.Name(), err.Error())
			return false
		}
		for row := range vql.Eval(ctx, child_scope) {
			dict_row := vfilter.RowToDict(ctx, child_scope, row)
			if query.Name != "" {
				dict_row.Set("_Source", query.Name)
			}
			select {
			case <-ctx.Done():
				return false
			case output_chan <- dict_row:
			}
		}
	}
	return true
}

// ChildScope is copyScope: a copy of the caller's scope with the
// artifact pushed on the $stack (deeper than MAX_STACK_DEPTH is an
// error). Unlike Velociraptor the context is kept, so the host's
// settings (clock, uploader, accessors) reach nested artifacts.
func ChildScope(scope vfilter.Scope, my_name string) (vfilter.Scope, error) {
	env := ordereddict.NewDict()
	stack_any, pres := scope.Resolve(ScopeStackVar)
	if !pres {
		env.Set(ScopeStackVar, []string{my_name})
	} else if child_stack, ok := stack_any.([]string); ok {
		stack := append([]string{my_name}, child_stack...)
		if len(stack) > MAX_STACK_DEPTH {
			return nil, errors.New("Stack overflow: " + strings.Join(stack, ", "))
		}
		env.Set(ScopeStackVar, stack)
	}
	result := scope.Copy()
	result.AppendVars(env)
	return result, nil
}

// CheckPreconditions runs a precondition: true when it returns a row
// (actions.CheckPreconditions).
func CheckPreconditions(ctx context.Context, scope vfilter.Scope,
	precondition string) (bool, error) {
	if precondition == "" {
		return true, nil
	}
	vqls, err := vfilter.MultiParse(precondition)
	if err != nil {
		return false, err
	}
	for _, vql := range vqls {
		for range vql.Eval(ctx, scope) {
			return true, nil
		}
	}
	return false, nil
}

// ArtifactAssociativeProtocol resolves Artifact.A.B to a plugin with
// prefix [A B] (_ArtifactRepositoryPluginAssociativeProtocol).
type ArtifactAssociativeProtocol struct{}

func getPlugin(a vfilter.Any) *ArtifactRepositoryPlugin {
	switch t := a.(type) {
	case ArtifactRepositoryPlugin:
		return &t
	case *ArtifactRepositoryPlugin:
		return t
	}
	return nil
}

// Applicable is true for the plugin and a string member.
func (self ArtifactAssociativeProtocol) Applicable(a vfilter.Any, b vfilter.Any) bool {
	if getPlugin(a) == nil {
		return false
	}
	_, ok := b.(string)
	return ok
}

// GetMembers lists nothing (as Velociraptor).
func (self ArtifactAssociativeProtocol) GetMembers(scope vfilter.Scope, a vfilter.Any) []string {
	return nil
}

// Associative extends the prefix.
func (self ArtifactAssociativeProtocol) Associative(
	scope vfilter.Scope, a vfilter.Any, b vfilter.Any) (vfilter.Any, bool) {
	value := getPlugin(a)
	if value == nil {
		return nil, false
	}
	key, ok := b.(string)
	if !ok {
		return nil, false
	}
	prefix := make([]string, 0, len(value.prefix)+1)
	prefix = append(prefix, value.prefix...)
	return &ArtifactRepositoryPlugin{
		prefix:     append(prefix, key),
		repository: value.repository,
	}, true
}

// Install makes Artifact.* callable in scope: the Artifact variable
// and the protocol that resolves its members.
func Install(scope vfilter.Scope, repository *Repository) {
	scope.AppendVars(ordereddict.NewDict().
		Set("Artifact", NewArtifactRepositoryPlugin(repository)))
	scope.AddProtocolImpl(ArtifactAssociativeProtocol{})
}

// Describe returns a one-line description of a request for logs.
func (self *Request) String() string {
	return fmt.Sprintf("%s (%d queries)", self.Artifact, len(self.Queries))
}
