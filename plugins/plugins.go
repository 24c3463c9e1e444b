// Package plugins lists every azvql VQL plugin and function, so a host
// (the vql command, Velociraptor, a test) can register them in one call.
package plugins

import (
	"github.com/azvql/azvql/plugins/extensions"
	"www.velocidex.com/golang/vfilter"
)

// All returns every azvql plugin.
func All() []vfilter.PluginGeneratorInterface {
	var out []vfilter.PluginGeneratorInterface
	out = append(out, extensions.Plugins()...)
	return out
}

// Functions returns every azvql function.
func Functions() []vfilter.FunctionInterface {
	var out []vfilter.FunctionInterface
	out = append(out, extensions.Functions()...)
	return out
}
