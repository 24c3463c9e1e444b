package eventlog

import (
	"context"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{
		AgentEventsPlugin{}, ProcessesPlugin{}, PowerShellPlugin{}, ExecutionsPlugin{}, SummaryPlugin{},
	}
}

// Args are the arguments every plugin of the package takes.
type Args struct {
	Root     string `vfilter:"optional,field=root,doc=The folder holding the C: drive of the evidence system (default: the running system)."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence and the event logs (default auto: the host's files)."`
	Path     string `vfilter:"optional,field=path,doc=The event log folder on the evidence system (default %SystemRoot%\\System32\\winevt\\Logs; %SystemRoot% is C:\\Windows)."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets in command lines and script text (default true)."`
}

// ExecArgs are azure_eventlog_executions' arguments.
type ExecArgs struct {
	Root       string              `vfilter:"optional,field=root,doc=The folder holding the C: drive of the evidence system (default: the running system)."`
	Accessor   string              `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence and the event logs (default auto: the host's files)."`
	Path       string              `vfilter:"optional,field=path,doc=The event log folder on the evidence system (default %SystemRoot%\\System32\\winevt\\Logs; %SystemRoot% is C:\\Windows)."`
	Redact     bool                `vfilter:"optional,field=redact,doc=Redact secrets in command lines and script text (default true)."`
	Executions vfilter.StoredQuery `vfilter:"optional,field=executions,doc=The rows of azure_run_executions to join the event-log evidence to (default: none; every execution is then known from the logs only)."`
	Window     int64               `vfilter:"optional,field=window,doc=Seconds around an execution's start and finish in which events of its handler belong to it (default 600)."`
}

// DefaultWindow is the default join window.
const DefaultWindow = 600 * time.Second

func run(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict, name string, a interface{}, base func() Args,
	body func(l *Logs, red bool, out chan vfilter.Row)) <-chan vfilter.Row {
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		b := base()
		red := vqlkit.Redact(args, b.Redact)
		l := OpenLogs(ctx, scope, name, b.Accessor, b.Root, b.Path)
		if l == nil {
			return
		}
		if !l.DirExists() {
			vqlkit.Logf(scope, name, "no event log folder %s under the root", l.Dir)
			return
		}
		body(l, red, out)
	})
}

func info(scope types.Scope, typeMap *types.TypeMap, name, doc string, cols []string, a interface{}) *types.PluginInfo {
	return &types.PluginInfo{Name: name, Doc: doc + " Columns: " + strings.Join(cols, ", ") + ".",
		ArgType: typeMap.AddType(scope, a), Version: 1}
}

// AgentEventsPlugin is azure_agent_events.
type AgentEventsPlugin struct{}

// Info describes the plugin.
func (AgentEventsPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return info(scope, typeMap, "azure_agent_events", "Every event of the Azure agent's channels (Microsoft-WindowsAzure-Status/Plugins, "+
		"/GuestAgent, Microsoft-WindowsAzure-Diagnostics/*, Windows Azure) with the handler, version and operation read from the event data.",
		AgentColumns, &Args{})
}

// Columns are the plugin's row columns.
func (AgentEventsPlugin) Columns() []string { return AgentColumns }

// Call runs the plugin.
func (AgentEventsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	a := &Args{}
	return run(ctx, scope, args, "azure_agent_events", a, func() Args { return *a }, func(l *Logs, red bool, out chan vfilter.Row) {
		l.Read(AgentLogs, func(ev Event) bool { return vqlkit.Send(ctx, out, agentRow(&ev)) })
	})
}

// ProcessesPlugin is azure_handler_processes.
type ProcessesPlugin struct{}

// Info describes the plugin.
func (ProcessesPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return info(scope, typeMap, "azure_handler_processes", "Processes an extension handler started and their descendants, "+
		"from Security 4688 and Sysmon 1: the process tree rebuilt from new and parent process ids within one boot (Security 4608 starts a boot).",
		ProcessColumns, &Args{})
}

// Columns are the plugin's row columns.
func (ProcessesPlugin) Columns() []string { return ProcessColumns }

// Call runs the plugin.
func (ProcessesPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	a := &Args{}
	return run(ctx, scope, args, "azure_handler_processes", a, func() Args { return *a }, func(l *Logs, red bool, out chan vfilter.Row) {
		l.EachHandlerProcess(func(p Process) bool { return vqlkit.Send(ctx, out, p.row(red)) })
	})
}

// PowerShellPlugin is azure_handler_powershell.
type PowerShellPlugin struct{}

// Info describes the plugin.
func (PowerShellPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return info(scope, typeMap, "azure_handler_powershell", "PowerShell that ran a script from a handler folder: Windows PowerShell "+
		"400/403/600/800 by HostApplication or ScriptName, PowerShell/Operational 4103 and 4104 (parts of a script block joined by ScriptBlockId in MessageNumber order).",
		PowerShellColumns, &Args{})
}

// Columns are the plugin's row columns.
func (PowerShellPlugin) Columns() []string { return PowerShellColumns }

// Call runs the plugin.
func (PowerShellPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	a := &Args{}
	return run(ctx, scope, args, "azure_handler_powershell", a, func() Args { return *a }, func(l *Logs, red bool, out chan vfilter.Row) {
		scripts, _ := l.HandlerPowerShell()
		for i := range scripts {
			if !vqlkit.Send(ctx, out, scripts[i].row(red)) {
				return
			}
		}
	})
}

// ExecutionsPlugin is azure_eventlog_executions.
type ExecutionsPlugin struct{}

// Info describes the plugin.
func (ExecutionsPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return info(scope, typeMap, "azure_eventlog_executions", "Executions with their event-log evidence: each row of executions "+
		"(azure_run_executions) with the handler processes and PowerShell that belong to it (MatchedBy: script path, or handler and time window), "+
		"then executions known only from the event logs.", ExecutionColumns, &ExecArgs{})
}

// Columns are the plugin's row columns.
func (ExecutionsPlugin) Columns() []string { return ExecutionColumns }

// Call runs the plugin.
func (ExecutionsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	a := &ExecArgs{}
	base := func() Args { return Args{Root: a.Root, Accessor: a.Accessor, Path: a.Path, Redact: a.Redact} }
	return run(ctx, scope, args, "azure_eventlog_executions", a, base, func(l *Logs, red bool, out chan vfilter.Row) {
		window := DefaultWindow
		if _, set := args.Get("window"); set {
			if a.Window < 0 {
				vqlkit.Errorf(scope, "azure_eventlog_executions", "window %d: seconds must not be negative", a.Window)
				return
			}
			window = time.Duration(a.Window) * time.Second
		}
		var disk []DiskExecution
		if a.Executions != nil {
			for row := range a.Executions.Eval(ctx, scope) {
				if d, ok := row.(*ordereddict.Dict); ok {
					disk = append(disk, DiskExecutionFromRow(d))
				}
			}
		}
		// The processes stream into the join: it keeps per tree only
		// what the row shows (docs/plugins-eventlog.md, Performance).
		jn := NewJoiner(disk, window, ListLimit)
		if !l.EachHandlerProcess(func(p Process) bool { jn.AddProcess(p); return true }) {
			return
		}
		scripts, ok := l.HandlerPowerShell()
		if !ok {
			return
		}
		for _, j := range jn.Finish(scripts) {
			if !vqlkit.Send(ctx, out, j.row(red)) {
				return
			}
		}
	})
}

// SummaryPlugin is azure_eventlog_summary.
type SummaryPlugin struct{}

// Info describes the plugin.
func (SummaryPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return info(scope, typeMap, "azure_eventlog_summary", "What the event logs can tell: each Windows handler the agent's channels name "+
		"(first and last event, operations), each agent log, and each audit source (present, enabled, and what an absence probably means).",
		SummaryColumns, &Args{})
}

// Columns are the plugin's row columns.
func (SummaryPlugin) Columns() []string { return SummaryColumns }

// Call runs the plugin.
func (SummaryPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	a := &Args{}
	return run(ctx, scope, args, "azure_eventlog_summary", a, func() Args { return *a }, func(l *Logs, red bool, out chan vfilter.Row) {
		l.Summary(func(r *ordereddict.Dict) bool { return vqlkit.Send(ctx, out, r) })
	})
}
