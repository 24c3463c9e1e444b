package artifacts

import (
	"context"
	"io"
	"log"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/arg_parser"
)

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }

// getFunction stands in for Velociraptor's get(field=...) (the host
// provides the real one) so these tests need only vfilter.
type getFunction struct{}

func (getFunction) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) vfilter.Any {
	arg := &struct {
		Field string `vfilter:"required,field=field"`
	}{}
	if err := arg_parser.ExtractArgsWithContext(ctx, scope, args, arg); err != nil {
		return vfilter.Null{}
	}
	v, pres := scope.Resolve(arg.Field)
	if !pres {
		return vfilter.Null{}
	}
	return v
}

func (getFunction) Info(scope vfilter.Scope, type_map *vfilter.TypeMap) *vfilter.FunctionInfo {
	return &vfilter.FunctionInfo{Name: "get"}
}
