package activitylog

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const correlatePlugin = "azure_activity_correlate"

// The time window an execution must start (or, without a start, end) in
// to belong to an operation:
//
//   - Before: the host cannot run a command before ARM received the
//     request; the only slack is the difference between the VM's clock and
//     ARM's (Azure VMs sync to the host; seconds of drift, more on a VM
//     whose time service was stopped): 2 minutes.
//   - AfterEnd: an operation with an EndRequest ends when the compute
//     provider saw the extension's final status, after the host finished:
//     5 minutes after it covers status upload and polling delays.
//   - AfterBeginOnly: an operation whose export holds only its
//     BeginRequest (the end outside the export, or still running) may run
//     until the compute provider's 90-minute extension timeout.
const (
	Before         = 2 * time.Minute
	AfterEnd       = 5 * time.Minute
	AfterBeginOnly = 90 * time.Minute
)

// Match values.
const (
	MatchMatched        = "Matched"              // execution with its control-plane operation
	MatchNoHostTrace    = "NoHostTrace"          // operation that left no execution on the VM
	MatchNoControlPlane = "NoControlPlaneRecord" // execution with no operation in the exports
	MatchDeletion       = "Deletion"             // a delete: no execution expected; explains missing folders
)

// CorrelateColumns are the columns of azure_activity_correlate, in order.
var CorrelateColumns = []string{
	"Match", "Confidence", "Reason", "VM", "ExecKind", "Handler", "ExtensionName", "SeqNo", "Started", "Finished",
	"ExecStatus", "Command", "OperationStart", "OperationEnd", "Operation", "OperationKind", "OperationExtension",
	"OperationStatus", "Caller", "CallerIp", "AppId", "Client", "PrincipalType", "CorrelationId", "ResourceId",
}

var correlateColumns = vqlkit.NewColumns(CorrelateColumns...)

// CorrelateArgs are the arguments of azure_activity_correlate.
type CorrelateArgs struct {
	Operations types.StoredQuery `vfilter:"optional,field=operations,doc=Control-plane operations: rows of azure_activity_operations(). Default: the operations of the filename exports."`
	Filename   []string          `vfilter:"optional,field=filename,doc=Activity Log export files to take the operations from when operations is not given (any shape azure_activity_log reads)."`
	Executions types.StoredQuery `vfilter:"optional,field=executions,doc=Host executions: rows of azure_run_executions() (Kind ExtensionName Started Finished ...) or azure_log_executions() (Kind from Handler). Default: azure_run_executions over root."`
	Root       string            `vfilter:"optional,field=root,doc=The root of the VM's evidence when executions is not given (default: the running system)."`
	Accessor   string            `vfilter:"optional,field=accessor,doc=The accessor that reads the exports and the evidence (default auto: the host's files)."`
	VM         []string          `vfilter:"optional,field=vm,doc=The VM's name(s) as Azure knows it (case-insensitive; a scale-set instance as <scaleset>_<instanceId>). Operations on other VMs are left out. Empty: every VM's operations are candidates and no match is better than medium."`
	Redact     bool              `vfilter:"optional,field=redact,doc=Redact secrets in what is read here (request bodies and the executions' commands); default true."`
}

// CorrelatePlugin is azure_activity_correlate.
type CorrelatePlugin struct{}

// Info describes the plugin.
func (CorrelatePlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: correlatePlugin,
		Doc: "Who ran it: joins control-plane operations (azure_activity_operations, or the filename exports) to host executions " +
			"(azure_run_executions, by default over root) by VM, Run Command or extension name, and time (host start within " +
			"[operation start - 2 min, end + 5 min], or + 90 min when only the BeginRequest is exported). One row per execution " +
			"(Matched with a Confidence, or NoControlPlaneRecord) and per operation left over (NoHostTrace, Deletion). Columns: " +
			strings.Join(CorrelateColumns, ", ") + ".",
		ArgType: typeMap.AddType(scope, &CorrelateArgs{}),
		Version: 1,
	}
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (CorrelatePlugin) Columns() []string { return CorrelateColumns }

// Call runs the plugin.
func (CorrelatePlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &CorrelateArgs{}
	return vqlkit.Run(ctx, scope, args, correlatePlugin, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		var ops []*OpRef
		given := arg.Operations != nil || len(arg.Filename) > 0
		if arg.Operations != nil {
			for row := range arg.Operations.Eval(ctx, scope) {
				ops = append(ops, opFromRow(scope, row))
			}
		} else if len(arg.Filename) > 0 {
			fo := NewFolder()
			ReadFiles(ctx, scope, correlatePlugin, &Args{Filename: arg.Filename, Accessor: arg.Accessor, Redact: arg.Redact},
				func(e *Event) bool { fo.Add(e); return true })
			for _, o := range fo.Operations() {
				ops = append(ops, opFromRow(scope, o.Row()))
			}
		}
		var execs []*ExecRef
		rows := func() <-chan vfilter.Row {
			if arg.Executions != nil {
				return arg.Executions.Eval(ctx, scope)
			}
			return extensions.ExecutionsPlugin{}.Call(ctx, scope, ordereddict.NewDict().
				Set("root", arg.Root).Set("accessor", arg.Accessor).Set("redact", arg.Redact))
		}
		for row := range rows() {
			execs = append(execs, execFromRow(scope, row))
		}
		for _, r := range Correlate(ops, execs, arg.VM, given) {
			if !vqlkit.Send(ctx, out, r) {
				return
			}
		}
	})
}

// OpRef is what the join reads of an operation.
type OpRef struct {
	Start, End                                                    time.Time
	Operation, Kind, VM, ExtensionName, Status, ResourceId        string
	Caller, CallerIp, AppId, Client, PrincipalType, CorrelationId string
	HandlerType                                                   string // properties.type of an extension request body
	Phases                                                        []string
}

// ExecRef is what the join reads of a host execution.
type ExecRef struct {
	Kind, Handler, ExtensionName, Status, Command string
	SeqNo                                         any
	Started, Finished                             time.Time
}

func get(scope vfilter.Scope, row vfilter.Row, k string) any {
	v, _ := scope.Associative(row, k)
	if lazy, ok := v.(types.LazyExpr); ok {
		v = lazy.Reduce(context.Background())
	}
	return v
}

func getStr(scope vfilter.Scope, row vfilter.Row, k string) string {
	s, _ := get(scope, row, k).(string)
	return s
}

func getTime(scope vfilter.Scope, row vfilter.Row, k string) time.Time {
	switch t := get(scope, row, k).(type) {
	case time.Time:
		return t.UTC()
	case *time.Time:
		if t != nil {
			return t.UTC()
		}
	case string:
		return parseTime(t)
	}
	return time.Time{}
}

func opFromRow(scope vfilter.Scope, row vfilter.Row) *OpRef {
	o := &OpRef{
		Start: getTime(scope, row, "Start"), End: getTime(scope, row, "End"),
		Operation: getStr(scope, row, "Operation"), Kind: getStr(scope, row, "Kind"), VM: getStr(scope, row, "VM"),
		ExtensionName: getStr(scope, row, "ExtensionName"), Status: getStr(scope, row, "Status"),
		ResourceId: getStr(scope, row, "ResourceId"), Caller: getStr(scope, row, "Caller"),
		CallerIp: getStr(scope, row, "CallerIp"), AppId: getStr(scope, row, "AppId"), Client: getStr(scope, row, "Client"),
		PrincipalType: getStr(scope, row, "PrincipalType"), CorrelationId: getStr(scope, row, "CorrelationId"),
	}
	if d := asDict(get(scope, row, "RequestBody")); d != nil {
		if p := newRecord(d).sub("properties"); p != nil {
			o.HandlerType = p.str("type")
		}
	}
	if l, ok := get(scope, row, "Phases").([]string); ok {
		o.Phases = l
	} else if l, ok := get(scope, row, "Phases").([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				o.Phases = append(o.Phases, s)
			}
		}
	}
	return o
}

func execFromRow(scope vfilter.Scope, row vfilter.Row) *ExecRef {
	e := execRow(scope, row)
	// azure_log_executions rows (executions rebuilt from the logs) have
	// no Kind and an Outcome instead of a Status.
	if e.Kind == "" {
		e.Kind = kindOfHandler(e.Handler)
	}
	if e.Status == "" {
		e.Status = getStr(scope, row, "Outcome")
	}
	return e
}

// kindOfHandler is azure_run_executions' Kind for a handler name.
func kindOfHandler(h string) string {
	l := strings.ToLower(h)
	switch {
	case strings.Contains(l, "runcommandhandler"):
		return "ManagedRunCommand"
	case strings.Contains(l, "runcommand"):
		return "RunCommand"
	case strings.Contains(l, "customscript"):
		return "CustomScript"
	}
	return ""
}

func execRow(scope vfilter.Scope, row vfilter.Row) *ExecRef {
	return &ExecRef{
		Kind: getStr(scope, row, "Kind"), Handler: getStr(scope, row, "Handler"),
		ExtensionName: getStr(scope, row, "ExtensionName"), Status: getStr(scope, row, "Status"),
		Command: getStr(scope, row, "Command"), SeqNo: get(scope, row, "SeqNo"),
		Started: getTime(scope, row, "Started"), Finished: getTime(scope, row, "Finished"),
	}
}

// hostKinds: which operation kinds can produce an execution of a kind.
var hostKinds = map[string][]string{
	"RunCommand":        {KindRunCommand, KindVMSSRunCommand},
	"ManagedRunCommand": {KindManagedRunCommand, KindVMSSManagedRunCommand},
	"CustomScript":      {KindExtension, KindVMSSExtension},
}

var deleteKinds = map[string]bool{KindExtensionDelete: true, KindManagedRunCommandDel: true,
	KindVMSSExtensionDelete: true, KindVMSSManagedRunCommandDel: true}

func runsCode(kind string) bool {
	for _, l := range hostKinds {
		for _, k := range l {
			if k == kind {
				return true
			}
		}
	}
	return false
}

// vmMatches: the operation's VM is one of names (case-insensitive; a
// scale-set instance <ss>_<id> also by that form).
func vmMatches(opVM string, names []string) bool {
	for _, n := range names {
		if n != "" && (strings.EqualFold(opVM, n) || vmssComputerName(opVM, n)) {
			return true
		}
	}
	return false
}

// vmssComputerName: a uniform scale-set instance's computer name (what
// its hostname and the evidence say) is the computer-name prefix - by
// default the scale set's name - followed by the instance id in base 36
// on six digits: vmss-api000003 is the instance the Activity Log names
// vmss-api_3.
func vmssComputerName(opVM, host string) bool {
	i := strings.LastIndexByte(opVM, '_')
	if i <= 0 || len(host) <= 6 {
		return false
	}
	id, err := strconv.ParseUint(opVM[i+1:], 10, 64)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(strings.ToLower(host[len(host)-6:]), 36, 64)
	return err == nil && n == id && strings.EqualFold(host[:len(host)-6], opVM[:i])
}

type candidate struct {
	op    *OpRef
	ex    *ExecRef
	score int
	dist  time.Duration
	core  bool
	named bool
	notes []string
}

// execTime is when the host ran it: the start, else the end.
func (e *ExecRef) execTime() time.Time {
	if !e.Started.IsZero() {
		return e.Started
	}
	return e.Finished
}

// pair decides whether ex can belong to op, and how well.
// It is long because each execution kind has its own name rule and the time window
// has its own cases (no host time, begin-only operations).
func pair(op *OpRef, ex *ExecRef, vmKnown bool) *candidate {
	ok := false
	for _, k := range hostKinds[ex.Kind] {
		if k == op.Kind {
			ok = true
		}
	}
	if !ok {
		return nil
	}
	c := &candidate{op: op, ex: ex}
	// Names: a managed Run Command's name is on both sides; a Custom
	// Script extension's ARM name is not on the disk, its handler type
	// (in the request body) is.
	switch ex.Kind {
	case "ManagedRunCommand":
		if !strings.EqualFold(op.ExtensionName, ex.ExtensionName) {
			return nil
		}
		c.named = true
		c.notes = append(c.notes, "name "+ex.ExtensionName)
	case "CustomScript":
		if op.HandlerType != "" {
			if !strings.HasSuffix(strings.ToLower(ex.Handler), "."+strings.ToLower(op.HandlerType)) {
				return nil
			}
			c.named = true
			c.notes = append(c.notes, "handler type "+op.HandlerType)
		} else if op.ExtensionName != "" && !strings.Contains(strings.ToLower(op.ExtensionName), "customscript") {
			c.notes = append(c.notes, "extension type not in the export")
		} else {
			c.named = op.ExtensionName != ""
			c.notes = append(c.notes, "extension "+op.ExtensionName)
		}
	case "RunCommand":
		c.named = true // one Run Command v1 per VM at a time: the kind is the name
	}
	t := ex.execTime()
	if t.IsZero() || op.Start.IsZero() {
		if !c.named || ex.Kind != "ManagedRunCommand" {
			return nil
		}
		c.notes = append(c.notes, "no host time: matched by name only")
		c.score = 1
		c.dist = 1 << 62
		return c
	}
	end := op.End
	if end.IsZero() {
		end = op.Start
	}
	lo := op.Start.Add(-Before)
	hasEnd := end.After(op.Start) || hasPhase(op, "EndRequest")
	hi := end.Add(AfterEnd)
	if !hasEnd {
		hi = op.Start.Add(AfterBeginOnly)
	}
	if t.Before(lo) || t.After(hi) {
		return nil
	}
	c.core = hasEnd && !t.After(end.Add(AfterEnd))
	d := t.Sub(op.Start)
	c.dist = d
	if c.dist < 0 {
		c.dist = -c.dist
	}
	what := "start"
	if ex.Started.IsZero() {
		what = "end"
	}
	c.notes = append(c.notes, fmt.Sprintf("host %s %s operation start", what, signed(d)))
	if !hasEnd {
		c.notes = append(c.notes, "only the operation's begin is exported")
	}
	c.score = 1
	if c.core {
		c.score++
	}
	if c.named {
		c.score++
	}
	if vmKnown {
		c.score++
	}
	return c
}

func hasPhase(op *OpRef, p string) bool {
	for _, x := range op.Phases {
		if x == p {
			return true
		}
	}
	return false
}

func signed(d time.Duration) string {
	if d < 0 {
		return (-d).Round(time.Second).String() + " before"
	}
	return d.Round(time.Second).String() + " after"
}

// Correlate joins operations and executions; vm names the VM the
// executions came from (empty: unknown); logsGiven is false when no
// export was given at all (the reason then says so). It is long because
// the join's steps (filter by VM, candidates by time, one-to-one
// assignment, the two lists) read best in order.
func Correlate(ops []*OpRef, execs []*ExecRef, vm []string, logsGiven bool) []*ordereddict.Dict {
	var names []string
	for _, n := range vm {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	vmKnown := len(names) > 0
	var mine []*OpRef
	for _, o := range ops {
		if !runsCode(o.Kind) && !deleteKinds[o.Kind] {
			continue
		}
		if vmKnown && !vmMatches(o.VM, names) {
			continue
		}
		mine = append(mine, o)
	}
	var cands []*candidate
	perExec := map[*ExecRef]int{}
	perOp := map[*OpRef]int{}
	// Operations by start time: an execution at t can only belong to one
	// that started in [t - longest window, t + Before].
	var timed, untimed []*OpRef
	span := time.Duration(0)
	for _, o := range mine {
		if deleteKinds[o.Kind] {
			continue
		}
		if o.Start.IsZero() {
			untimed = append(untimed, o)
			continue
		}
		timed = append(timed, o)
		w := AfterBeginOnly
		if o.End.After(o.Start) {
			w = o.End.Sub(o.Start) + AfterEnd
			if w < AfterBeginOnly && !hasPhase(o, "EndRequest") {
				w = AfterBeginOnly
			}
		}
		if w > span {
			span = w
		}
	}
	sort.SliceStable(timed, func(i, j int) bool { return timed[i].Start.Before(timed[j].Start) })
	add := func(o *OpRef, e *ExecRef) {
		if c := pair(o, e, vmKnown); c != nil {
			cands = append(cands, c)
			perExec[e]++
			perOp[o]++
		}
	}
	for _, e := range execs {
		t := e.execTime()
		if t.IsZero() {
			for _, o := range timed {
				add(o, e)
			}
		} else {
			i := sort.Search(len(timed), func(i int) bool { return !timed[i].Start.Before(t.Add(-span)) })
			for ; i < len(timed) && !timed[i].Start.After(t.Add(Before)); i++ {
				add(timed[i], e)
			}
		}
		for _, o := range untimed {
			add(o, e)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].dist < cands[j].dist
	})
	byExec := map[*ExecRef]*candidate{}
	usedOp := map[*OpRef]bool{}
	for _, c := range cands {
		if byExec[c.ex] != nil || usedOp[c.op] {
			continue
		}
		byExec[c.ex] = c
		usedOp[c.op] = true
	}
	vmName := strings.Join(names, ",")
	var rows []*ordereddict.Dict
	sortedExecs := append([]*ExecRef(nil), execs...)
	sort.SliceStable(sortedExecs, func(i, j int) bool {
		a, b := sortedExecs[i].execTime(), sortedExecs[j].execTime()
		if a.IsZero() != b.IsZero() {
			return !a.IsZero()
		}
		return a.Before(b)
	})
	for _, e := range sortedExecs {
		if _, known := hostKinds[e.Kind]; !known {
			continue
		}
		c := byExec[e]
		if c == nil {
			reason := "no operation on this VM in the exports within the window"
			switch {
			case !logsGiven:
				reason = "no Activity Log export given"
			case e.execTime().IsZero():
				reason = "no host time and no operation with its name"
			}
			rows = append(rows, row(MatchNoControlPlane, "", reason, vmName, e, nil))
			continue
		}
		conf := "low"
		switch {
		case c.core && c.named && vmKnown && perExec[e] == 1 && perOp[c.op] == 1:
			conf = "high"
		case c.core || (c.named && vmKnown):
			conf = "medium"
		}
		if perExec[e] > 1 || perOp[c.op] > 1 {
			c.notes = append(c.notes, fmt.Sprintf("%d candidate operations, %d candidate executions: nearest in time kept", perExec[e], perOp[c.op]))
		}
		if !vmKnown {
			c.notes = append(c.notes, "VM name unknown: operations of every VM were candidates")
			if conf == "high" {
				conf = "medium"
			}
		}
		rows = append(rows, row(MatchMatched, conf, strings.Join(c.notes, "; "), vmName, e, c.op))
	}
	for _, o := range mine {
		if usedOp[o] {
			continue
		}
		m, reason := MatchNoHostTrace, "no execution on the VM matches it (evidence deleted, or the agent never ran it)"
		switch {
		case deleteKinds[o.Kind]:
			m, reason = MatchDeletion, "a delete: no execution expected; the agent then removes the handler's files and settings from the VM"
		case o.Status == "Failed":
			reason = "the operation failed at the control plane: the VM may never have received it"
		}
		rows = append(rows, row(m, "", reason, o.VM, nil, o))
	}
	return rows
}

func row(m, conf, reason, vm string, e *ExecRef, o *OpRef) *ordereddict.Dict {
	s := vqlkit.Str
	v := []any{s(m), s(conf), s(reason), s(vm)}
	if e != nil {
		v = append(v, s(e.Kind), s(e.Handler), s(e.ExtensionName), e.SeqNo, vqlkit.Time(e.Started), vqlkit.Time(e.Finished),
			s(e.Status), s(e.Command))
	} else {
		v = append(v, nil, nil, nil, nil, nil, nil, nil, nil)
	}
	if o != nil {
		v = append(v, vqlkit.Time(o.Start), vqlkit.Time(o.End), s(o.Operation), s(o.Kind), s(o.ExtensionName), s(o.Status),
			s(o.Caller), s(o.CallerIp), s(o.AppId), s(o.Client), s(o.PrincipalType), s(o.CorrelationId), s(o.ResourceId))
	} else {
		v = append(v, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	}
	return correlateColumns.Row(v...)
}
