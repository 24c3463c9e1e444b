// Package plugins lists every azvql VQL plugin and function, so a host
// (the vql command, Velociraptor, a test) can register them in one call.
package plugins

import (
	"github.com/azvql/azvql/plugins/activitylog"
	"github.com/azvql/azvql/plugins/agentlog"
	"github.com/azvql/azvql/plugins/eventlog"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/goalstate"
	"github.com/azvql/azvql/plugins/handlerlog"
	"github.com/azvql/azvql/plugins/mftscan"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/telemetry"
	"github.com/azvql/azvql/plugins/timeline"
	"www.velocidex.com/golang/vfilter"
)

// All returns every azvql plugin.
func All() []vfilter.PluginGeneratorInterface {
	var out []vfilter.PluginGeneratorInterface
	out = append(out, extensions.Plugins()...)
	out = append(out, agentlog.Plugins()...)
	out = append(out, goalstate.Plugins()...)
	out = append(out, handlerlog.Plugins()...)
	out = append(out, telemetry.Plugins()...)
	out = append(out, eventlog.Plugins()...)
	out = append(out, activitylog.Plugins()...)
	out = append(out, mftscan.Plugins()...)
	out = append(out, timeline.Plugins()...)
	return out
}

// Functions returns every azvql function.
func Functions() []vfilter.FunctionInterface {
	var out []vfilter.FunctionInterface
	out = append(out, extensions.Functions()...)
	out = append(out, agentlog.Functions()...)
	out = append(out, protected.Functions()...)
	return out
}
