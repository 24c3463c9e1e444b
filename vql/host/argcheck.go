package host

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/functions"
	vfilter_plugins "www.velocidex.com/golang/vfilter/plugins"
	"www.velocidex.com/golang/vfilter/types"
)

// vfilter's own plugins and functions (foreach, if, split, count...)
// only log "Unexpected arg x" and go on with no rows or NULL. In the vql
// host they are wrapped so that a misspelt or missing argument is an
// error that lists the valid arguments, as for azvql's plugins and
// vql/builtins (vqlkit.ParseArgs). Those with no declared arguments
// (dict() takes any) or free-form arguments are left alone.

// signature reads the arguments an ArgType declares from typeMap.
func signature(scope vfilter.Scope, typeMap *vfilter.TypeMap, argType string) (vqlkit.Signature, bool) {
	if argType == "" {
		return vqlkit.Signature{}, false
	}
	args, _ := describeArgs(scope, typeMap, argType)
	var sig vqlkit.Signature
	for _, a := range args {
		sig.Names = append(sig.Names, a.Name)
		if a.Required {
			sig.Required = append(sig.Required, a.Name)
		}
	}
	return sig, len(sig.Names) > 0
}

type checkedPlugin struct {
	types.PluginGeneratorInterface
	name string
	sig  vqlkit.Signature
}

func (p checkedPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	if err := p.sig.CheckArgs(args); err != nil {
		vqlkit.Errorf(scope, p.name, "%v", err)
		out := make(chan vfilter.Row)
		close(out)
		return out
	}
	return p.PluginGeneratorInterface.Call(ctx, scope, args)
}

type checkedFunction struct {
	types.FunctionInterface
	name string
	sig  vqlkit.Signature
}

func (f checkedFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	if err := f.sig.CheckArgs(args); err != nil {
		vqlkit.Errorf(scope, f.name, "%v", err)
		return vfilter.Null{}
	}
	return f.FunctionInterface.Call(ctx, scope, args)
}

// Copy keeps vfilter's per-call-site copy (aggregates such as count()
// keep their state in it) and the check around it.
func (f checkedFunction) Copy() types.FunctionInterface {
	return checkedFunction{FunctionInterface: vfilter.CopyFunction(f.FunctionInterface), name: f.name, sig: f.sig}
}

// checkVfilterBuiltins replaces vfilter's built-ins in scope with
// checked ones.
func checkVfilterBuiltins(scope vfilter.Scope) {
	typeMap := types.NewTypeMap()
	for _, p := range vfilter_plugins.GetBuiltinPlugins() {
		info := p.Info(scope, typeMap)
		if sig, ok := signature(scope, typeMap, info.ArgType); ok {
			scope.AppendPlugins(checkedPlugin{PluginGeneratorInterface: p, name: info.Name, sig: sig})
		}
	}
	for _, f := range functions.GetBuiltinFunctions() {
		info := f.Info(scope, typeMap)
		if info.FreeFormArgs {
			continue
		}
		if sig, ok := signature(scope, typeMap, info.ArgType); ok {
			scope.AppendFunctions(checkedFunction{FunctionInterface: f, name: info.Name, sig: sig})
		}
	}
}
