package timeline

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/activitylog"
	"github.com/azvql/azvql/plugins/agentlog"
	"github.com/azvql/azvql/plugins/eventlog"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/goalstate"
	"github.com/azvql/azvql/plugins/handlerlog"
	"github.com/azvql/azvql/plugins/mftscan"
	"github.com/azvql/azvql/plugins/telemetry"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

// sourcePlugins are the plugins whose rows the timeline is made of, by
// name: the timeline calls them as a query would, so each row is exactly
// the row its own artifact shows (columns, redaction, errors logged).
var sourcePlugins = func() map[string]vfilter.PluginGeneratorInterface {
	m := map[string]vfilter.PluginGeneratorInterface{}
	scope := vfilter.NewScope()
	tm := types.NewTypeMap()
	for _, list := range [][]vfilter.PluginGeneratorInterface{
		extensions.Plugins(), agentlog.Plugins(), goalstate.Plugins(), handlerlog.Plugins(),
		telemetry.Plugins(), eventlog.Plugins(), activitylog.Plugins(), mftscan.Plugins(),
	} {
		for _, p := range list {
			m[p.Info(scope, tm).Name] = p
		}
	}
	return m
}()

// builder holds one timeline's arguments and where its rows go.
type builder struct {
	ctx   context.Context
	scope vfilter.Scope
	a     *Args
	emit  func(*Row) error
}

// each calls the named plugin and fn with every row it returns.
func (b *builder) each(name string, args *ordereddict.Dict, fn func(*ordereddict.Dict) error) error {
	p, ok := sourcePlugins[name]
	if !ok {
		return fmt.Errorf("timeline: no plugin %s", name)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var err error
	for row := range p.Call(ctx, b.scope, args) {
		if err != nil {
			continue // drain after cancel
		}
		d, ok := row.(*ordereddict.Dict)
		if !ok {
			d = vfilter.RowToDict(ctx, b.scope, row)
		}
		if err = fn(d); err != nil {
			cancel()
		}
	}
	if err == nil {
		err = b.ctx.Err()
	}
	return err
}

// rootArgs are the arguments every source plugin takes.
func (b *builder) rootArgs() *ordereddict.Dict {
	d := ordereddict.NewDict().Set("root", b.a.Root).Set("redact", b.a.redact)
	if b.a.Accessor != "" {
		d.Set("accessor", b.a.Accessor)
	}
	return d
}

func (b *builder) decryptArgs(d *ordereddict.Dict) *ordereddict.Dict {
	d.Set("decrypt", b.a.Decrypt).Set("keys", b.a.Keys).Set("password", b.a.Password)
	if b.a.Decrypt == "" {
		d.Delete("decrypt")
	}
	return d
}

func (b *builder) executions() error {
	return b.each("azure_run_executions", b.decryptArgs(b.rootArgs()), func(e *ordereddict.Dict) error {
		if err := b.execRows(e); err != nil {
			return err
		}
		return b.fileRows(e)
	})
}

// execRows are an execution's Started and Finished rows (one undated row
// when it has neither).
func (b *builder) execRows(e *ordereddict.Dict) error {
	started, finished := get(e, "Started"), get(e, "Finished")
	ext := get(e, "ExtensionName")
	cmd := "(command not recorded)"
	if c := get(e, "Command"); set(c) {
		cmd = "`" + oneLine(c) + "`"
	}
	head := kindName(get(e, "Kind"))
	if set(ext) {
		head += " " + str(ext)
	}
	head += " seq " + str(get(e, "SeqNo"))
	tail := " " + cmd + " as " + runAs(get(e, "OS"), get(e, "RunAsUser")) + exitOr(get(e, "ExitCode"), get(e, "Status"))
	row := func(t any, kind, verb, why string) error {
		r := b.base(e, "Executions")
		r.Time = timep(t)
		if kind != "" {
			r.TimeKind = sp(kind)
		}
		r.Summary = head + " " + verb + tail + " (" + why + ")"
		r.OSPath = strp(or(get(e, "SettingsPath"), get(e, "StatusPath"), get(e, "WorkingDir")))
		r.TimeConflict = strp(get(e, "TimeConflict"))
		return b.emit(r)
	}
	if set(started) || !set(finished) {
		kind, verb, why := "", "ran at an unknown time", "no Started or Finished time found"
		if set(started) {
			kind, verb, why = "Started", "started", "Started from "+str(get(e, "StartedSource"))
		}
		if err := row(started, kind, verb, why); err != nil {
			return err
		}
	}
	if set(finished) {
		return row(finished, "Finished", "finished", "Finished from "+str(get(e, "FinishedSource")))
	}
	return nil
}

// base is a row of source src about the row d's extension.
func (b *builder) base(d *ordereddict.Dict, src string) *Row {
	return &Row{Source: src, Handler: strp(get(d, "Handler")), ExtensionName: strp(get(d, "ExtensionName")),
		SeqNo: intp(get(d, "SeqNo")), Detail: detail(d)}
}

// fileRows are the times of an execution's settings and status files.
func (b *builder) fileRows(e *ordereddict.Dict) error {
	handler := get(e, "Handler")
	conflict := strp(get(e, "TimeConflict"))
	fileRow := func(d *ordereddict.Dict, src string, osPath any) *Row {
		r := b.base(d, src)
		r.Handler = strp(or(get(d, "Handler"), handler))
		r.OSPath = strp(osPath)
		r.TimeConflict = conflict
		return r
	}
	if settings := get(e, "SettingsPath"); set(settings) {
		err := b.each("azure_extension_settings", b.rootArgs().Set("filename", b.fileArg(settings)), func(d *ordereddict.Dict) error {
			r := fileRow(d, "SettingsFile", settings)
			r.Time, r.TimeKind = timep(get(d, "Mtime")), sp("Modified")
			emptied := ""
			if set(get(d, "Empty")) {
				emptied = " (emptied: 0 bytes)"
			}
			r.Summary = str(or(get(d, "Handler"), handler)) + seq(get(d, "SeqNo")) + " settings file written" + emptied
			return b.emit(r)
		})
		if err != nil {
			return err
		}
	}
	stp := get(e, "StatusPath")
	if !set(stp) {
		return nil
	}
	return b.each("azure_extension_status", b.rootArgs().Set("filename", b.fileArg(stp)), func(d *ordereddict.Dict) error {
		h := str(or(get(d, "Handler"), handler)) + seq(get(d, "SeqNo"))
		status := str(or(get(d, "Status"), "no status"))
		r := fileRow(d, "StatusFile", stp)
		r.Time, r.TimeKind = timep(get(d, "Mtime")), sp("Modified")
		r.Summary = h + " status file written (" + status + ")"
		if err := b.emit(r); err != nil {
			return err
		}
		if ts := get(d, "Timestamp"); set(ts) {
			r := fileRow(d, "StatusFile", stp)
			r.Time, r.TimeKind = timep(ts), sp("Reported")
			exit := ""
			if c := get(d, "ExitCode"); c != nil {
				exit = ", exit " + str(c)
			}
			r.Summary = h + " reported " + status + exit
			return b.emit(r)
		}
		return nil
	})
}

// fileArg names an execution's file (a path as on the VM) to a file
// plugin: below the root folder when there is one, else as the VM names
// it (the running system, or the volume of vql --image), so the source
// row's OSPath reads the same either way.
func (b *builder) fileArg(vmPath any) string {
	if b.a.Root == "" {
		return str(vmPath)
	}
	return b.a.Root + rootPath(vmPath)
}

func (b *builder) handlers() error {
	args := ordereddict.NewDict().Set("root", b.a.Root)
	if b.a.Accessor != "" {
		args.Set("accessor", b.a.Accessor)
	}
	return b.each("azure_extension_handlers", args, func(d *ordereddict.Dict) error {
		r := b.base(d, "HandlerFolder")
		r.ExtensionName, r.SeqNo = nil, nil
		r.Time, r.TimeKind = timep(get(d, "Mtime")), sp("Modified")
		r.Summary = fmt.Sprintf("%v %v handler folder (%v)", str(get(d, "Handler")), str(get(d, "Version")),
			str(or(get(d, "State"), "state unknown")))
		r.OSPath = strp(get(d, "OSPath"))
		return b.emit(r)
	})
}

var extensionHandler = regexp.MustCompile(`(?i)RunCommand|CustomScript`)

func (b *builder) goalStates() error {
	return b.each("azure_goal_states", b.decryptArgs(b.rootArgs()), func(d *ordereddict.Dict) error {
		handler := get(d, "Handler")
		if !extensionHandler.MatchString(str(handler)) || handler == nil {
			return nil
		}
		ext := ""
		if e := get(d, "ExtensionName"); set(e) {
			ext = " " + str(e)
		}
		head := fmt.Sprintf("%v %v: %v%v%v", str(get(d, "Format")), str(or(get(d, "Incarnation"), get(d, "ETag"))),
			str(handler), ext, seq(get(d, "SeqNo")))
		r := b.base(d, "GoalState")
		osPath := str(get(d, "Source"))
		if m := get(d, "Member"); set(m) {
			osPath += "!" + str(m)
		}
		r.OSPath = &osPath
		if created := get(d, "Created"); set(created) {
			what := str(or(get(d, "State"), ""))
			if c := get(d, "Command"); set(c) {
				what = "`" + oneLine(c) + "`"
			}
			r.Time, r.TimeKind = timep(created), sp("Created")
			r.Summary = "goal state " + head + " " + what
		} else {
			r.Time, r.TimeKind = timep(get(d, "Mtime")), sp("Modified")
			r.Summary = "goal state file " + head
		}
		return b.emit(r)
	})
}

func (b *builder) telemetry() error {
	return b.each("azure_extension_events", b.rootArgs(), func(d *ordereddict.Dict) error {
		r := b.base(d, "Telemetry")
		r.ExtensionName, r.SeqNo = nil, nil
		r.Time, r.TimeKind = timep(get(d, "Time")), sp("Logged")
		r.Summary = fmt.Sprintf("%v %v: %v", str(or(get(d, "TaskName"), get(d, "Format"))),
			str(or(get(d, "Level"), "")), oneLine(get(d, "Message")))
		r.OSPath = strp(get(d, "OSPath"))
		return b.emit(r)
	})
}

// activity are the control plane's operations from the exports given.
func (b *builder) activity() error {
	files := stringsOf(b.a.ActivityLogs) // paths or OSPaths (glob's)
	if len(files) == 0 {
		return nil
	}
	var vm *regexp.Regexp
	if b.a.VMName != "" {
		var err error
		if vm, err = regexp.Compile("(?i)" + b.a.VMName); err != nil {
			return fmt.Errorf("timeline: vm_name: %w", err)
		}
	}
	args := ordereddict.NewDict().Set("redact", b.a.redact).Set("filename", files)
	return b.each("azure_activity_operations", args, func(d *ordereddict.Dict) error {
		if vm != nil && !vm.MatchString(str(get(d, "VM"))) {
			return nil
		}
		r := b.base(d, "ActivityLog")
		r.Handler, r.SeqNo = nil, nil
		r.Time, r.TimeKind = timep(get(d, "Start")), sp("Requested")
		from := ""
		if ip := get(d, "CallerIp"); set(ip) {
			from = " from " + str(ip)
		}
		r.Summary = fmt.Sprintf("%v by %v%v on %v: %v", str(or(get(d, "OperationName"), get(d, "Operation"))),
			str(or(get(d, "Caller"), "unknown caller")), from, str(or(get(d, "VM"), get(d, "ResourceId"))),
			str(or(get(d, "Status"), "no status")))
		var paths []string
		if l, ok := get(d, "OSPaths").([]string); ok {
			paths = l
		} else if l, ok := get(d, "OSPaths").([]any); ok {
			for _, p := range l {
				paths = append(paths, str(p))
			}
		}
		r.OSPath = sp(strings.Join(paths, ", "))
		return b.emit(r)
	})
}
