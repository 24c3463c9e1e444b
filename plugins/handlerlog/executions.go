package handlerlog

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const execPluginName = "azure_log_executions"

// ExitCodeSource values: where an execution's ExitCode comes from.
const (
	ExitLogged   = "handler log"
	ExitInferred = `inferred: event="executed command" with no error`
)

// ExecColumns are the row columns of azure_log_executions, in order.
var ExecColumns = []string{
	"Handler", "ExtensionName", "SeqNo", "Version", "Started", "Finished", "LastSeen", "Operations",
	"Command", "CommandKind", "Outcome", "ExitCode", "ExitCodeSource", "Error", "Records", "Sources",
}

// DefaultLogGlobs are the logs azure_log_executions reads when it is given
// no filenames: every handler log of both layouts (not waagent.log, which
// is large and has its own artifact source).
var DefaultLogGlobs = []string{
	"/var/log/azure/*/*.log",   // handler.log, CommandExecution[_<name>].log, ImmediateRunCommandService.log
	"/var/log/azure/*/*/*.log", // OSTC <Handler>/<version>/extension.log
	`C:\WindowsAzure\Logs\Plugins\*\*\*.log`,
	`C:\WindowsAzure\Logs\WaAppAgent.log`,
}

// ExecutionsArgs are the arguments of azure_log_executions.
type ExecutionsArgs struct {
	Filenames []string `vfilter:"optional,field=filenames,doc=Logs to read, as paths on the evidence system (any dialect azure_handler_log reads, also waagent.log and its rotations). Default: every handler log under /var/log/azure and C:\\WindowsAzure\\Logs."`
	Accessor  string   `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files)."`
	Root      string   `vfilter:"optional,field=root,doc=The root of the evidence system (/ of a Linux VM or the C: drive of a Windows one). Default: the running system."`
	Tz        string   `vfilter:"optional,field=tz,doc=IANA time zone of timestamps written without one; default UTC."`
	Redact    bool     `vfilter:"optional,field=redact,doc=Redact secrets in Command and Error; default true."`
	// Applied to whole executions, after every record was read (an
	// execution's records may lie outside the window).
	After        vfilter.Any `vfilter:"optional,field=after,doc=Only executions whose time (Started, else LastSeen) is at or after this time (a timestamp or RFC 3339 string; empty: no limit). Executions without a time are kept (as the artifacts' DateAfter)."`
	Before       vfilter.Any `vfilter:"optional,field=before,doc=Only executions whose time (Started, else LastSeen) is at or before this time (empty: no limit). Executions without a time are kept."`
	HandlerRegex string      `vfilter:"optional,field=handler_regex,doc=Only executions whose Handler matches this regex (case-insensitive as =~). Empty: every execution."`
}

// ExecutionsPlugin is azure_log_executions.
type ExecutionsPlugin struct{}

// Info describes the plugin.
func (ExecutionsPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: execPluginName,
		Doc: "Rebuild extension executions (handler, sequence number, time, command where logged, outcome and exit code) from handler and agent logs alone, " +
			"for VMs whose extension folders were deleted. One row per (Handler, ExtensionName, SeqNo). Columns: " + strings.Join(ExecColumns, ", ") + ".",
		ArgType: typeMap.AddType(scope, &ExecutionsArgs{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (ExecutionsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &ExecutionsArgs{}
	return vqlkit.Run(ctx, scope, args, execPluginName, arg, func(out chan types.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		loc, err := loadTz(arg.Tz)
		if err != nil {
			vqlkit.Logf(scope, execPluginName, "tz %q: %v", arg.Tz, err)
			return
		}
		filter, err := vqlkit.NewRecordFilter(vqlkit.FilterArgs{After: arg.After, Before: arg.Before, HandlerRegex: arg.HandlerRegex})
		if err != nil {
			vqlkit.Errorf(scope, execPluginName, "%v", err)
			return
		}
		open := vqlkit.OpenRoot
		if len(arg.Filenames) > 0 {
			open = vqlkit.OpenRootForFile
		}
		root := open(scope, execPluginName, arg.Accessor, arg.Root)
		if root == nil {
			return
		}
		files := arg.Filenames
		if len(files) == 0 {
			for _, g := range DefaultLogGlobs {
				list, _ := root.Glob(g)
				for _, e := range list {
					if root.Readable(e) {
						files = append(files, e.OSPath)
					}
				}
			}
		}
		b := NewExecBuilder()
		for _, fn := range files {
			if ctx.Err() != nil {
				return
			}
			osPath := EvidencePath(root, fn)
			b.StartFile(osPath)
			ReadFile(ctx, root, Options{Name: fn, Loc: loc, Redact: arg.Redact, ExecOnly: true},
				func(msg string) { vqlkit.Logf(scope, execPluginName, "%s", msg) },
				func(r *Record) bool { b.Add(r); return ctx.Err() == nil })
		}
		for _, e := range b.Executions() {
			if !e.keep(filter) {
				continue
			}
			if !vqlkit.Send(ctx, out, e.Row()) {
				return
			}
		}
	})
}

// Outcome values, weakest first.
const (
	OutcomeUnknown  = "unknown"
	OutcomeStarted  = "started"  // the command was started; no result was logged (still running, killed, or log cut)
	OutcomeLaunched = "launched" // the agent ran the handler command and it returned (waagent.log): the script's own result is in the handler's log
	OutcomeSuccess  = "success"
	OutcomeSkipped  = "skipped" // a re-delivered sequence number the handler did not run again
	OutcomeFailed   = "failed"
)

var outcomeRank = map[string]int{OutcomeUnknown: 0, OutcomeStarted: 1, OutcomeLaunched: 2, OutcomeSuccess: 3, OutcomeSkipped: 4, OutcomeFailed: 5}

// Execution is one configuration (sequence number) of one handler or
// multi-config extension, as the logs tell it.
type Execution struct {
	Handler, ExtensionName, Version string
	SeqNo                           int64
	Started, LastSeen               time.Time
	enableEnd, agentEnableEnd       time.Time
	Operations                      []string
	Command, CommandKind            string
	Outcome                         string // the handler logs' word (logfmt, windows-plugin, ostc)
	agentOutcome                    string // the agent logs' word (waagent, waappagent)
	ExitCode                        int64
	HasExitCode                     bool
	exitInferred                    bool // ExitCode 0 from event="executed command", not written
	Error                           string
	errEnable                       string
	Records                         int64
	Sources                         []string
}

// Row builds the row of an execution.
func (e *Execution) Row() *ordereddict.Dict {
	row := ordereddict.NewDict().
		Set("Handler", vqlkit.Str(e.Handler)).
		Set("ExtensionName", vqlkit.Str(e.ExtensionName)).
		Set("SeqNo", e.SeqNo).
		Set("Version", vqlkit.Str(e.Version)).
		Set("Started", vqlkit.Time(e.Started)).
		Set("Finished", vqlkit.Time(e.finished())).
		Set("LastSeen", vqlkit.Time(e.LastSeen)).
		Set("Operations", e.Operations).
		Set("Command", vqlkit.Str(e.Command)).
		Set("CommandKind", vqlkit.Str(e.CommandKind)).
		Set("Outcome", e.outcome())
	switch {
	case !e.HasExitCode:
		row.Set("ExitCode", nil).Set("ExitCodeSource", nil)
	case e.exitInferred:
		row.Set("ExitCode", e.ExitCode).Set("ExitCodeSource", ExitInferred)
	default:
		row.Set("ExitCode", e.ExitCode).Set("ExitCodeSource", ExitLogged)
	}
	errText := e.Error
	if errText == "" {
		errText = e.errEnable
	}
	return row.Set("Error", vqlkit.Str(errText)).
		Set("Records", e.Records).
		Set("Sources", e.Sources)
}

// ExecBuilder joins records of several logs into executions.
type ExecBuilder struct {
	byKey   map[execKey]*Execution
	order   []*Execution
	file    string
	current map[handlerKey]int64 // the last sequence number seen in this file
	pending map[pidKey]time.Time // first time before the sequence number was known
	names   map[string]string    // handler and extension names, cloned once
}

// The maps are keyed by structs of names the builder owns (name): no
// key is built per record, and none holds a record's memory.
type handlerKey struct{ handler, ext string }

type pidKey struct {
	handlerKey
	pid int64
}

type execKey struct {
	handlerKey
	seq int64
}

// name is s as a string of the builder's own: a record's fields may be
// slices of its whole message, which a key or an execution must not keep.
func (b *ExecBuilder) name(s string) string {
	if v, ok := b.names[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(b.names) < maxExecutions {
		b.names[v] = v
	}
	return v
}

// NewExecBuilder returns an empty builder.
func NewExecBuilder() *ExecBuilder {
	return &ExecBuilder{byKey: map[execKey]*Execution{}, names: map[string]string{}}
}

// StartFile starts the records of a new log file.
func (b *ExecBuilder) StartFile(osPath string) {
	b.file = osPath
	b.current = map[handlerKey]int64{}
	b.pending = map[pidKey]time.Time{}
}

const maxExecutions = 100000

// Add takes one record.
// It is long because it is one ordered decision per record (which run it
// belongs to, then what it says about that run): the order of the rules
// is the behaviour, and it reads best in one place.
func (b *ExecBuilder) Add(r *Record) {
	if r.Unparsed || r.Handler == "" {
		return
	}
	hk := handlerKey{b.name(r.Handler), b.name(r.ExtensionName)}
	pk := pidKey{hk, r.Pid}
	if r.Format == FormatOSTC && r.Event == EvStart {
		delete(b.pending, pk) // a new handler process: what the last one logged is not this run's start
	}
	seq := r.SeqNo
	if r.Format == FormatWaagent && seq < 0 && (r.Event == "HandlerState" || r.Event == "GoalState") {
		// The agent starts processing a new goal state for the handler:
		// what follows belongs to the sequence number it is about to
		// write (Update settings file: N.settings).
		delete(b.current, hk)
	}
	if seq < 0 {
		// Only the agent's Linux log interleaves a handler's lines without
		// a sequence number into its current run (the Command: record);
		// elsewhere a line without one precedes the line that names it
		// (a Windows handler process logs "Loading configuration for
		// sequence number N" after its start; OSTC "sequence number is N").
		s, ok := b.current[hk]
		if r.Format != FormatWaagent {
			ok = false
		}
		if !ok {
			if !r.Time.IsZero() {
				if t, ok := b.pending[pk]; !ok || r.Time.Before(t) {
					if len(b.pending) < maxExecutions {
						b.pending[pk] = r.Time
					}
				}
			}
			return
		}
		seq = s
	} else {
		b.current[hk] = seq
	}
	key := execKey{hk, seq}
	e := b.byKey[key]
	if e == nil {
		if len(b.byKey) >= maxExecutions {
			return
		}
		// Every string an execution keeps is cloned (the names by b.name):
		// a record's fields are slices of its whole message (a Command:
		// record carries the script's output), and keeping a slice keeps
		// the message.
		e = &Execution{Handler: hk.handler, ExtensionName: hk.ext, SeqNo: seq, Outcome: OutcomeUnknown}
		b.byKey[key] = e
		b.order = append(b.order, e)
	}
	if t, ok := b.pending[pk]; ok {
		e.addTime(t)
		delete(b.pending, pk)
	}
	e.Records++
	if e.Version == "" {
		e.Version = strings.Clone(r.Version)
	}
	e.addTime(r.Time)
	if r.Operation == "enable" {
		if agent := r.Format == FormatWaagent || r.Format == FormatWaAppAgent; !agent && r.Time.After(e.enableEnd) {
			e.enableEnd = r.Time
		} else if agent && r.Time.After(e.agentEnableEnd) {
			e.agentEnableEnd = r.Time
		}
	}
	if r.Operation != "" && !contains(e.Operations, r.Operation) && len(e.Operations) < 16 {
		e.Operations = append(e.Operations, strings.Clone(r.Operation))
	}
	if !contains(e.Sources, b.file) && len(e.Sources) < 64 { // b.file is one string per file, shared
		e.Sources = append(e.Sources, b.file)
	}
	out := outcomeOf(r)
	if r.Error != "" {
		if out == OutcomeFailed && e.Error == "" {
			e.Error = strings.Clone(r.Error)
		} else if r.Operation == "enable" && e.errEnable == "" {
			e.errEnable = strings.Clone(r.Error)
		}
	}
	if r.HasExitCode && (!e.HasExitCode || e.ExitCode == 0) {
		e.ExitCode, e.HasExitCode, e.exitInferred = r.ExitCode, true, false
	} else if !e.HasExitCode && r.Format == FormatLogfmt && r.Event == EvExecuted && r.Error == "" {
		// The Go handlers log event="executed command" when the command
		// returned no error: it exited 0, which no line writes.
		e.ExitCode, e.HasExitCode, e.exitInferred = 0, true, true
	}
	if cmd := commandOfRecord(r); cmd != "" && e.Command == "" {
		e.Command = strings.Clone(cmd)
	}
	if k := commandKind(r); k != "" && e.CommandKind == "" {
		e.CommandKind = k
	}
	e.raise(out, r.Format == FormatWaagent || r.Format == FormatWaAppAgent)
}

// keep: the execution passes f as the artifacts' filter written in VQL
// passes its row: `Handler =~ HandlerRegex AND InDateRange(When=Started || LastSeen)`.
func (e *Execution) keep(f *vqlkit.RecordFilter) bool {
	when := vqlkit.KnownTime(e.Started) // Started || LastSeen: a time at or before the epoch is false
	if when.IsZero() {
		when = e.LastSeen
	}
	return f.KeepTime(when) && f.KeepHandler(e.Handler)
}

func (e *Execution) addTime(t time.Time) {
	if t.IsZero() {
		return
	}
	if e.Started.IsZero() || t.Before(e.Started) {
		e.Started = t
	}
	if t.After(e.LastSeen) {
		e.LastSeen = t
	}
}

// finished is the last record of the enable operation (the run itself),
// for executions with a logged result;
// later records of the same configuration (disable, uninstall, update)
// only move LastSeen. Without enable records it is LastSeen.
func (e *Execution) finished() time.Time {
	switch e.outcome() {
	case OutcomeSuccess, OutcomeFailed, OutcomeSkipped:
	default:
		return time.Time{} // no result logged: still running, killed, or the log was cut
	}
	if !e.enableEnd.IsZero() {
		return e.enableEnd // the handler's own last record of the run
	}
	if !e.agentEnableEnd.IsZero() {
		return e.agentEnableEnd
	}
	return e.LastSeen
}

func (e *Execution) raise(o string, agent bool) {
	if o == "" {
		return
	}
	if agent {
		if outcomeRank[o] > outcomeRank[e.agentOutcome] {
			e.agentOutcome = o
		}
		return
	}
	if outcomeRank[o] > outcomeRank[e.Outcome] {
		e.Outcome = o
	}
}

// outcome: the handler's own log says more than the agent's (Run Command
// v1's shim returns at once, so the agent's "launched" says nothing of
// the script); an agent-reported failure wins.
func (e *Execution) outcome() string {
	if e.agentOutcome == OutcomeFailed || e.Outcome == OutcomeUnknown && e.agentOutcome != "" {
		return e.agentOutcome
	}
	return e.Outcome
}

// Executions returns the executions sorted by Started (unknown last),
// then handler, extension name and sequence number.
func (b *ExecBuilder) Executions() []*Execution {
	out := make([]*Execution, 0, len(b.order))
	for _, e := range b.order {
		if e.isRun() {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if a.Started.IsZero() != c.Started.IsZero() {
			return !a.Started.IsZero()
		}
		if !a.Started.Equal(c.Started) {
			return a.Started.Before(c.Started)
		}
		if a.Handler != c.Handler {
			return a.Handler < c.Handler
		}
		if a.ExtensionName != c.ExtensionName {
			return a.ExtensionName < c.ExtensionName
		}
		return a.SeqNo < c.SeqNo
	})
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// isRun: the configuration was enabled, or a command or result was
// logged. Records of handler lifecycle operations only (install, update,
// uninstall, disable with the handler's own sequence number, as Run
// Command v2 logs them with an empty extension name) are not a run.
func (e *Execution) isRun() bool {
	if e.Command != "" || e.CommandKind != "" || e.HasExitCode || e.outcome() != OutcomeUnknown {
		return true
	}
	return len(e.Operations) == 0 || contains(e.Operations, "enable")
}

// outcomeOf is what one record says about the result.
func outcomeOf(r *Record) string {
	ev := r.Event
	switch r.Format {
	case FormatLogfmt:
		switch {
		case ev == "executed command":
			return OutcomeSuccess
		case ev == "failed to execute command", ev == "enable script failed", ev == "enable failed", ev == "failed to handle":
			return OutcomeFailed
		case ev == "executing command" || strings.HasPrefix(ev, "executing "):
			return OutcomeStarted
		case strings.Contains(r.Message, "already processed"):
			return OutcomeSkipped
		}
		if r.Error != "" && r.Operation == "enable" && strings.Contains(ev, "fail") {
			return OutcomeFailed
		}
	case FormatWaagent:
		switch ev {
		case "Executing":
			return OutcomeStarted
		case "Command":
			if r.HasExitCode && r.ExitCode != 0 {
				return OutcomeFailed
			}
			return OutcomeLaunched
		case EvStatus: // an OSTC extension's status line in a 2.0-era waagent.log
			if s, _ := r.Fields.GetString("status"); strings.EqualFold(s, "success") && r.Operation == "enable" {
				return OutcomeSuccess
			} else if strings.EqualFold(s, "error") || strings.EqualFold(s, "failed") {
				return OutcomeFailed
			}
		}
		if r.HasExitCode && r.ExitCode != 0 {
			return OutcomeFailed
		}
	default:
		switch ev {
		case EvExecuting:
			return OutcomeStarted
		case EvExecuted:
			if r.HasExitCode && r.ExitCode != 0 {
				return OutcomeFailed
			}
			if r.HasExitCode {
				return OutcomeSuccess
			}
			return OutcomeLaunched
		case EvAlreadyProcessed:
			return OutcomeSkipped
		case EvPluginFailed:
			return OutcomeFailed
		case EvStatus:
			if f := r.Fields; f != nil && (r.Operation == "enable" || r.Operation == "") {
				if s, _ := f.GetString("status"); strings.EqualFold(s, "success") {
					return OutcomeSuccess
				} else if strings.EqualFold(s, "error") || strings.EqualFold(s, "failed") {
					return OutcomeFailed
				}
			}
		}
	}
	return ""
}

// commandKind: the Go handlers say where the command came from.
func commandKind(r *Record) string {
	if r.Format != FormatLogfmt {
		return ""
	}
	ev := r.Event
	if strings.HasPrefix(ev, "executing public ") || strings.HasPrefix(ev, "executing protected ") {
		return strings.TrimPrefix(ev, "executing ")
	}
	return ""
}

// commandOfRecord extracts a logged command or script.
func commandOfRecord(r *Record) string {
	m := r.Message
	switch r.Format {
	case FormatLogfmt:
		if r.Fields != nil {
			for _, k := range []string{"commandToExecute", "command", "script", "scriptUri"} {
				if v, ok := r.Fields.GetString(k); ok && v != "" {
					return v
				}
			}
		}
	case FormatWinPlugin, FormatWaAppAgent:
		if i := strings.Index(m, "executing command: "); i >= 0 {
			c := strings.TrimSpace(m[i+len("executing command: "):])
			if len(c) >= 2 && c[0] == '\'' && c[len(c)-1] == '\'' {
				c = c[1 : len(c)-1]
			}
			return c
		}
		if i := strings.Index(m, "PublicSettings: {Script: ["); i >= 0 {
			c := m[i+len("PublicSettings: {Script: ["):]
			if j := strings.LastIndex(c, "]}"); j >= 0 {
				c = c[:j]
			}
			return c
		}
		if i := strings.Index(m, "PublicSettings: Source: Script: "); i >= 0 {
			c := m[i+len("PublicSettings: Source: Script: "):]
			if j := strings.Index(c, " ScriptUri:"); j >= 0 {
				c = c[:j]
			}
			return strings.TrimSpace(c)
		}
		if i := strings.Index(m, "commandToExecute: "); i >= 0 {
			c := m[i+len("commandToExecute: "):]
			if j := strings.Index(c, "}"); j >= 0 {
				c = c[:j]
			}
			return strings.TrimSpace(c)
		}
	case FormatOSTC:
		if strings.HasPrefix(m, "Command to execute:") {
			return strings.TrimSpace(strings.TrimPrefix(m, "Command to execute:"))
		}
	}
	return ""
}
