// Package activitylog reads Azure Activity Log exports - who did what to
// a VM from the control plane - in every shape a responder is handed:
// azure_activity_log (one row per event), azure_activity_operations
// (the events of one operation folded into one row) and
// azure_activity_correlate (operations joined to what the VM kept).
// Shapes, columns and the join: docs/plugins-activitylog.md.
package activitylog

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/handlerlog"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const (
	logPlugin = "azure_activity_log"
	opsPlugin = "azure_activity_operations"
)

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{LogPlugin{}, OperationsPlugin{}, CorrelatePlugin{}}
}

// Args are the arguments of azure_activity_log and azure_activity_operations.
type Args struct {
	Filename []string `vfilter:"required,field=filename,doc=One or more Activity Log export files (portal JSON or CSV, az monitor activity-log list, REST pages, diagnostic-settings PT1H.json, Event Hub records, Log Analytics AzureActivity CSV or JSON; gzip of any). The shape is detected per file from its content."`
	Accessor string   `vfilter:"optional,field=accessor,doc=The accessor that reads the files (default auto: the host's files)."`
	Root     string   `vfilter:"optional,field=root,doc=A folder the files are below (a case folder or an uploads folder): filename may then be a path below it and OSPath is reported below it. Default: none (filename is a path of the host; a relative one is relative to the working folder)."`
	Redact   bool     `vfilter:"optional,field=redact,doc=Redact secrets in request bodies and properties (protectedSettings and SAS sig= values and storage keys and passwords); default true."`
}

// LogPlugin is azure_activity_log.
type LogPlugin struct{}

// Info describes the plugin.
func (LogPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: logPlugin,
		Doc: "Azure Activity Log events from exports of any shape (detected per file; gzip read transparently), one row per event. " +
			"Columns: " + strings.Join(Columns, ", ") + ".",
		ArgType: typeMap.AddType(scope, &Args{}),
		Version: 1,
	}
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (LogPlugin) Columns() []string { return Columns }

// Call runs the plugin.
func (LogPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &Args{}
	return vqlkit.Run(ctx, scope, args, logPlugin, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		ReadFiles(ctx, scope, logPlugin, arg, func(e *Event) bool { return vqlkit.Send(ctx, out, e.Row()) })
	})
}

// ReadFiles reads every file of arg through the evidence layer; false
// from emit stops.
func ReadFiles(ctx context.Context, scope vfilter.Scope, plugin string, arg *Args, emit func(*Event) bool) {
	root, err := evidence.OpenRoot(scope, arg.Accessor, arg.Root)
	if err != nil {
		vqlkit.Logf(scope, plugin, "%v", err)
		return
	}
	logf := func(s string) { vqlkit.Logf(scope, plugin, "%s", s) }
	for _, name := range arg.Filename {
		if ctx.Err() != nil {
			return
		}
		if !ReadFile(ctx, root, name, arg.Redact, logf, emit) {
			return
		}
	}
}

// ReadFile reads one export; false means stop.
func ReadFile(ctx context.Context, root *evidence.Root, name string, red bool, logf func(string), emit func(*Event) bool) bool {
	if root.Base == "" && !filepath.IsAbs(name) && !strings.Contains(name, `\`) {
		// Exports are files on the analyst's machine: a relative name is
		// relative to the working folder, as with any tool.
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	osPath := handlerlog.EvidencePath(root, name)
	f, err := root.Open(osPath)
	if err != nil {
		logf(err.Error())
		return true
	}
	defer f.Close()
	stopped := false
	Read(ctx, f, Options{OSPath: osPath, Redact: red}, logf, func(e *Event) bool {
		if !emit(e) {
			stopped = true
			return false
		}
		return true
	})
	return !stopped
}
