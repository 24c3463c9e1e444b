// Package host builds the VQL scope the vql command runs queries in:
// vfilter's own built-ins, the Velociraptor-compatible built-ins azvql
// provides, and every azvql plugin.
package host

import (
	"log"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins"
	"www.velocidex.com/golang/vfilter"
)

// Options configures a scope.
type Options struct {
	Env     *ordereddict.Dict                  // variables visible to the query
	Logger  *log.Logger                        // the query log; nil discards it
	Plugins []vfilter.PluginGeneratorInterface // extra plugins (e.g. Artifact)
}

// NewScope returns a scope ready to run queries.
func NewScope(opts Options) vfilter.Scope {
	env := opts.Env
	if env == nil {
		env = ordereddict.NewDict()
	}
	scope := vfilter.NewScope().AppendVars(env)
	scope.AppendPlugins(plugins.All()...)
	scope.AppendFunctions(plugins.Functions()...)
	scope.AppendPlugins(opts.Plugins...)
	if opts.Logger != nil {
		scope.SetLogger(opts.Logger)
	}
	return scope
}
