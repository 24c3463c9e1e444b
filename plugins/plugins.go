// Package plugins lists every azvql VQL plugin and function, so a host
// (the vql command, Velociraptor, a test) can register them in one call.
package plugins

import (
	"www.velocidex.com/golang/vfilter"
)

// All returns every azvql plugin.
func All() []vfilter.PluginGeneratorInterface {
	var out []vfilter.PluginGeneratorInterface
	return out
}

// Functions returns every azvql function.
func Functions() []vfilter.FunctionInterface {
	var out []vfilter.FunctionInterface
	return out
}
