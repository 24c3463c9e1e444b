package eventlog

import (
	"context"
	"sort"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// DefaultLogDir is where Windows keeps its event logs; %SystemRoot% is
// taken to be C:\Windows (the default install; a path argument
// overrides it).
const DefaultLogDir = `%SystemRoot%\System32\winevt\Logs`

const systemRoot = `C:\Windows`

// Log file names (the channel name with / as %4).
const (
	LogPlugins     = "Microsoft-WindowsAzure-Status%4Plugins.evtx"
	LogGuestAgent  = "Microsoft-WindowsAzure-Status%4GuestAgent.evtx"
	LogDiagnostics = "Microsoft-WindowsAzure-Diagnostics%4*.evtx"
	LogWindowsAz   = "Windows Azure.evtx"
	LogSecurity    = "Security.evtx"
	LogSysmon      = "Microsoft-Windows-Sysmon%4Operational.evtx"
	LogPSClassic   = "Windows PowerShell.evtx"
	LogPSOper      = "Microsoft-Windows-PowerShell%4Operational.evtx"
)

// AgentLogs are the Azure agent's channels.
var AgentLogs = []string{LogPlugins, LogGuestAgent, LogDiagnostics, LogWindowsAz}

// Logs reads event log files below root through the host's parse_evtx.
type Logs struct {
	Ctx      context.Context
	Scope    vfilter.Scope
	Root     *evidence.Root
	Accessor string
	Dir      string // evidence path of the log folder
	Plugin   string // the calling plugin, for log lines
}

// OpenLogs checks the arguments: the root opens (an unknown accessor or
// a root that does not exist is an error, logged), the host has
// parse_evtx. nil means no rows.
func OpenLogs(ctx context.Context, scope vfilter.Scope, plugin, accessor, root, dir string) *Logs {
	r := vqlkit.OpenRootForFile(scope, plugin, accessor, root)
	if r == nil {
		return nil
	}
	if dir == "" {
		dir = DefaultLogDir
	}
	if strings.HasPrefix(strings.ToLower(dir), "%systemroot%") {
		dir = systemRoot + dir[len("%systemroot%"):]
	}
	if _, ok := scope.GetPlugin("parse_evtx"); !ok {
		vqlkit.Errorf(scope, plugin, "the host has no parse_evtx plugin")
		return nil
	}
	return &Logs{Ctx: ctx, Scope: scope, Root: r, Accessor: accessor, Dir: dir, Plugin: plugin}
}

// Files are the evidence paths of the logs matching name (a glob of
// file names) in the folder, sorted.
func (l *Logs) Files(name string) []string {
	list, _ := l.Root.Glob(evidence.JoinOSPath(l.Dir, name))
	var out []string
	for _, e := range list {
		// A link or a FIFO named like a log is reported, not read
		// (docs/evidence.md).
		if !e.IsDir && l.Root.Readable(e) {
			out = append(out, e.OSPath)
		}
	}
	sort.Strings(out)
	return out
}

// DirExists says whether the log folder is there at all.
func (l *Logs) DirExists() bool { return l.Root.Exists(l.Dir) }

// Read calls fn for every event of the logs matching the names, file by
// file in record order; false from fn stops. It returns false when the
// query was cancelled or fn stopped.
func (l *Logs) Read(names []string, fn func(Event) bool) bool {
	for _, n := range names {
		for _, f := range l.Files(n) {
			if !l.ReadFile(f, fn) {
				return false
			}
		}
	}
	return true
}

// ReadFile calls fn for every event of one log (an evidence path).
func (l *Logs) ReadFile(f string, fn func(Event) bool) bool {
	p, _ := l.Scope.GetPlugin("parse_evtx")
	acc, err := l.Root.Resolve(f)
	if err != nil {
		l.Scope.Log("%s: %s: %v", l.Plugin, f, err)
		return true
	}
	args := ordereddict.NewDict().Set("filename", acc)
	if l.Accessor != "" {
		args.Set("accessor", l.Accessor)
	}
	ctx, cancel := context.WithCancel(l.Ctx)
	defer cancel()
	stopped := false
	for row := range p.Call(ctx, l.Scope, args) {
		if stopped {
			continue
		}
		d, ok := row.(*ordereddict.Dict)
		if !ok {
			continue
		}
		if ev, ok := FromRow(d, f); ok && !fn(ev) {
			stopped = true
			cancel()
		}
	}
	return !stopped && l.Ctx.Err() == nil
}

// All is every event of the logs matching the names, ordered by time
// (then file and record id): processes and script blocks of several
// files must be seen in the order they happened.
func (l *Logs) All(names []string, keep func(*Event) bool) ([]Event, bool) {
	var out []Event
	ok := l.Read(names, func(ev Event) bool {
		if keep == nil || keep(&ev) {
			out = append(out, ev)
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.OSPath != b.OSPath {
			return a.OSPath < b.OSPath
		}
		return a.RecordID < b.RecordID
	})
	return out, ok
}
