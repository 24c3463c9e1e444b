package builtins

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// VersionArgs are version()'s arguments (Velociraptor's).
type VersionArgs struct {
	Function string `vfilter:"optional,field=function,doc=A function's name."`
	Plugin   string `vfilter:"optional,field=plugin,doc=A plugin's name."`
}

// VersionFunction is version(): the version a plugin or function
// declares, NULL when the host has none of that name. Artifacts test it
// to choose between azvql's plugins and stock Velociraptor's (a plugin
// that is missing would otherwise be an error at run time).
type VersionFunction struct{}

func (VersionFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &VersionArgs{}
	if !vqlkit.ParseArgs(ctx, scope, args, "version", arg) {
		return vfilter.Null{}
	}
	tm := types.NewTypeMap()
	switch {
	case arg.Plugin != "":
		p, ok := scope.GetPlugin(arg.Plugin)
		if !ok {
			return vfilter.Null{}
		}
		if v := p.Info(scope, tm).Version; v >= 0 {
			return v
		}
	case arg.Function != "":
		f, ok := scope.GetFunction(arg.Function)
		if !ok {
			return vfilter.Null{}
		}
		if v := f.Info(scope, tm).Version; v >= 0 {
			return v
		}
	default:
		scope.Log("version: give plugin or function")
		return 0
	}
	return vfilter.Null{}
}

func (VersionFunction) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{
		Name:    "version",
		Doc:     "Gets the version of a VQL plugin or function.",
		ArgType: typeMap.AddType(scope, &VersionArgs{}),
	}
}
