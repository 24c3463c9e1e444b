package extensions

import (
	"context"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Caps of the executions join (documented in docs/plugins-extensions.md).
const (
	MaxOutputBytes  = 64 << 10  // StdOut/StdErr: the first 64 KiB of download/<seq>/stdout|stderr
	MaxScriptRead   = 64 << 10  // Command from script.sh: its first 64 KiB
	MaxHashBytes    = 256 << 20 // files larger than this are not hashed (SHA256 NULL)
	MaxWorkDirFiles = 1000      // Files entries per working folder
	MaxWorkDirDepth = 8         // folder levels below the working folder
)

type executionsArgs struct {
	Root     string      `vfilter:"optional,field=root,doc=The root of the evidence system (/ for Linux or the C: drive for Windows) as an accessor path; default the running system's."`
	Accessor string      `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto)."`
	Redact   bool        `vfilter:"optional,field=redact,doc=Redact secrets (SAS signatures and storage keys and passwords) in commands and output and URIs; default true."`
	Decrypt  vfilter.Any `vfilter:"optional,field=decrypt,doc=Decrypt protectedSettings: auto (default: when key material is found on the evidence or in keys) or true or false."`
	Keys     []string    `vfilter:"optional,field=keys,doc=Key files (accessor paths) read before the evidence's own /var/lib/waagent keys: PEM certificates and private keys or PKCS#12."`
	Password string      `vfilter:"optional,field=password,doc=Password of the PKCS#12 files in keys (default empty)."`
	OS       string      `vfilter:"optional,field=os,doc=Only executions of this OS (Linux or Windows); default both."`
	Kinds    vfilter.Any `vfilter:"optional,field=kinds,doc=Only executions of these kinds (RunCommand or ManagedRunCommand or CustomScript; a string or a list); default all."`
	After    vfilter.Any `vfilter:"optional,field=after,doc=Only executions whose start (else end) time is at or after this time; executions with no known time are kept (as the artifacts' InDateRange of Started or else Finished). Default no limit."`
	Before   vfilter.Any `vfilter:"optional,field=before,doc=Only executions whose start (else end) time is at or before this time; executions with no known time are kept. Default no limit."`
}

// ExecutionsPlugin is azure_run_executions.
type ExecutionsPlugin struct{}

func (ExecutionsPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "azure_run_executions",
		Doc:     "One row per execution of a handler that runs code (Run Command v1 and v2, Custom Script; Linux and Windows), joining its settings, status, working folder (script, stdout, stderr, dropped files), the handler's mrseq/pidstart and the goal states that keep its public settings.",
		ArgType: tm.AddType(scope, &executionsArgs{}),
		Version: 1,
	}
}

func (ExecutionsPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_run_executions"
	a := &executionsArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		r := vqlkit.OpenRoot(scope, name, a.Accessor, a.Root)
		if r == nil {
			return
		}
		logf := func(f string, x ...any) { vqlkit.Logf(scope, name, f, x...) }
		popts, err := protected.NewOptions(a.Decrypt, a.Keys, a.Password, a.Accessor, red)
		if err != nil {
			logf("%v", err)
			return
		}
		popts.Plugin = name
		filter, err := NewExecFilter(a.OS, a.Kinds, a.After, a.Before)
		if err != nil {
			vqlkit.Errorf(scope, name, "%v", err)
			return
		}
		WalkExecutionsFiltered(ctx, r, red, protected.NewDecryptor(scope, r, popts), filter, logf, func(row *ordereddict.Dict) bool {
			return vqlkit.Send(ctx, out, row)
		})
	})
}

// WalkExecutions emits one row per execution found under r, sorted by
// Handler, ExtensionName, SeqNo; emit returning false stops the walk.
func WalkExecutions(ctx context.Context, r *evidence.Root, red bool, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	WalkExecutionsDecrypt(ctx, r, red, nil, logf, emit)
}

// WalkExecutionsDecrypt is WalkExecutions decrypting protectedSettings with dec (nil: never).
func WalkExecutionsDecrypt(ctx context.Context, r *evidence.Root, red bool, dec *protected.Decryptor, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	WalkExecutionsFiltered(ctx, r, red, dec, nil, logf, emit)
}

// WalkExecutionsFiltered is WalkExecutionsDecrypt emitting only the
// executions f keeps (nil: all); the kinds f excludes are not walked.
func WalkExecutionsFiltered(ctx context.Context, r *evidence.Root, red bool, dec *protected.Decryptor, f *ExecFilter, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	// One handler kind at a time: its executions are emitted (sorted) as
	// soon as its folders are read, and its index is dropped before the
	// next kind's is built. The index holds a small slot per execution
	// (numbers, no paths: see execCollector), so memory grows by tens of
	// bytes per execution of the largest kind. The order is the one a
	// whole-tree sort gives.
	handlers := ListHandlers(r, logf)
	var goal map[string]*goalRef
	warned := false // the lost-file-times warning is said once per tree
	for _, kind := range kindsInOrder() {
		if ctx.Err() != nil {
			return
		}
		if !f.keepKind(kind) {
			continue
		}
		c := newExecCollector(r, dec, logf)
		c.collectKind(ctx, kind, handlers)
		if len(c.slots) == 0 || ctx.Err() != nil {
			continue
		}
		c.checkUniformTimes(&warned)
		if goal == nil { // the goal states are read once, when a first execution is found
			c.loadGoalStates(ctx)
			goal = c.goal
		}
		c.goal = goal
		c.sortSlots()
		for i := range c.slots {
			if ctx.Err() != nil {
				return
			}
			s := &c.slots[i]
			k := execKey{kind.Name, c.names[s.name], s.seq}
			x := c.join(k, c.partsOf(s, kind), c.stateFor(k, kind), red)
			if f.keepTimes(x.started, x.finished) && !emit(x.row()) {
				return
			}
			s.rare = nil // emitted: its flat files and paths can go
		}
	}
}

// ExecutionColumns are the row columns of azure_run_executions, in order
// (docs/plugins-extensions.md describes each).
var ExecutionColumns = []string{
	"OS", "Kind", "Handler", "HandlerVersion", "ExtensionName", "SeqNo",
	"Command", "CommandSource", "ScriptPath", "ScriptSHA256",
	"StdOut", "StdOutTruncated", "StdErr", "StdErrTruncated", "OutputSource",
	"Status", "ExitCode", "Started", "StartedSource", "Finished", "FinishedSource",
	"Running", "Pid", "MostRecent",
	"Protected", "ProtectedSettingsDecrypted", "DecryptError", "FileUris",
	"WorkingDir", "Files", "SettingsPath", "StatusPath", "StatusLeftovers",
	"ExecutionState", "RunAsUser", "SettingsMtime", "SettingsEmpty", "GoalState", "RelatedPaths",
	"TimeConflict",
}

var executionColumns = vqlkit.NewColumns(ExecutionColumns...)

// row emits the joined execution in ExecutionColumns' order.
func (x *execution) row() *ordereddict.Dict {
	p, set := x.p, x.set
	var isProtected, uris interface{}
	if set != nil && !set.Empty && !x.settingsBad {
		isProtected = set.Protected
	}
	if len(x.uriList) > 0 {
		l := make([]interface{}, len(x.uriList))
		for i, u := range x.uriList {
			l[i] = redactStr(u, x.red)
		}
		uris = l
	}
	var settingsPath, statusPath, settingsMtime, settingsEmpty interface{}
	if p.settings != nil {
		settingsPath = p.settings.OSPath
		settingsMtime = vqlkit.Time(p.settings.Mtime)
		if set != nil {
			settingsEmpty = set.Empty
		}
	}
	if x.statusRef != nil {
		statusPath = x.statusRef.OSPath
	}
	var execState interface{}
	if x.sts != nil {
		execState = vqlkit.Str(x.sts.ExecutionState)
	}
	var related, leftovers, files, workDir, scriptPath interface{}
	if len(x.related) > 0 {
		related = x.related
	}
	if len(p.leftovers) > 0 {
		l := make([]interface{}, len(p.leftovers))
		for i, s := range p.leftovers {
			l[i] = s
		}
		leftovers = l
	}
	if p.workDir != "" {
		workDir = p.workDir
		if x.files == nil {
			x.files = []interface{}{}
		}
		files = x.files
	}
	if x.scriptEntry != nil {
		scriptPath = x.scriptEntry.OSPath
	}
	return executionColumns.Row(
		p.kind.OS, p.kind.Kind, x.k.Handler, vqlkit.Str(x.version), vqlkit.Str(x.k.ExtName), x.k.Seq,
		x.command, x.commandSource, scriptPath, x.scriptSHA,
		x.stdout, x.stdoutTrunc, x.stderr, x.stderrTrunc, x.outSource,
		x.status, x.exitCode, x.started, x.startedSrc, x.finished, x.finishedSrc,
		x.running, x.pid, x.mostRecent,
		isProtected, x.decrypted, x.decryptErr, uris,
		workDir, files, settingsPath, statusPath, leftovers,
		execState, x.runAsUser, settingsMtime, settingsEmpty, x.goalSource, related,
		x.timeConflict,
	)
}
