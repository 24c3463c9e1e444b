package activitylog

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

// OpColumns are the columns of azure_activity_operations, in order.
var OpColumns = []string{
	"Start", "End", "Operation", "OperationName", "Kind", "Status", "SubStatus", "Caller", "CallerIp", "AppId",
	"Client", "PrincipalType", "TenantId", "SubscriptionId", "ResourceGroup", "VM", "ExtensionName",
	"ResourceId", "CorrelationId", "OperationIds", "Events", "Phases", "Statuses", "RequestBody", "Formats", "OSPaths",
}

var opColumns = vqlkit.NewColumns(OpColumns...)

// Operation is the events of one operation folded together: same
// correlation id, same operation, same resource (one correlation id
// may span several operations, e.g. a template deployment).
type Operation struct {
	Start, End       time.Time
	ev               Event // first non-empty value of each field
	Status           string
	SubStatus        string
	statusTime       time.Time
	terminal         bool
	OperationIds     []string
	Events           int64
	Phases, Statuses []string
	Formats, OSPaths []string
}

// Kind, VM and the rest, for the join.
func (o *Operation) Kind() string          { return o.ev.Kind }
func (o *Operation) VM() string            { return o.ev.VM }
func (o *Operation) ExtensionName() string { return o.ev.ExtensionName }

var terminalStatus = map[string]bool{"Succeeded": true, "Failed": true, "Canceled": true}

func addUnique(l []string, s string) []string {
	if s == "" {
		return l
	}
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

func firstOf(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func (o *Operation) add(e *Event) {
	if !e.Time.IsZero() {
		if o.Start.IsZero() || e.Time.Before(o.Start) {
			o.Start = e.Time
		}
		if e.Time.After(o.End) {
			o.End = e.Time
		}
	}
	f := &o.ev
	for _, p := range [][2]*string{{&f.Operation, &e.Operation}, {&f.OperationName, &e.OperationName}, {&f.Kind, &e.Kind},
		{&f.Caller, &e.Caller}, {&f.CallerIp, &e.CallerIp}, {&f.AppId, &e.AppId}, {&f.Client, &e.Client},
		{&f.PrincipalType, &e.PrincipalType}, {&f.TenantId, &e.TenantId}, {&f.SubID, &e.SubID},
		{&f.ResourceGroup, &e.ResourceGroup}, {&f.VM, &e.VM}, {&f.ExtensionName, &e.ExtensionName},
		{&f.ResourceId, &e.ResourceId}, {&f.CorrelationId, &e.CorrelationId}} {
		firstOf(p[0], *p[1])
	}
	if f.RequestBody == nil {
		f.RequestBody = e.RequestBody
	}
	// The final status: the latest terminal status (Succeeded, Failed,
	// Canceled); without one, the latest status.
	term := terminalStatus[e.Status]
	if e.Status != "" && (o.Status == "" || (term && !o.terminal) || (term == o.terminal && !e.Time.Before(o.statusTime))) {
		o.Status, o.statusTime, o.terminal = e.Status, e.Time, term
		if e.SubStatus != "" || term {
			o.SubStatus = e.SubStatus
		}
	}
	o.OperationIds = addUnique(o.OperationIds, e.OperationId)
	o.Phases = addUnique(o.Phases, e.Phase)
	o.Statuses = addUnique(o.Statuses, e.Status)
	o.Formats = addUnique(o.Formats, e.Format)
	o.OSPaths = addUnique(o.OSPaths, e.OSPath)
	o.Events++
}

func list(l []string) any {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Row is the operation as a row of OpColumns.
func (o *Operation) Row() *ordereddict.Dict {
	s, f := vqlkit.Str, &o.ev
	return opColumns.Row(vqlkit.Time(o.Start), vqlkit.Time(o.End), s(f.Operation), s(f.OperationName), s(f.Kind),
		s(o.Status), s(o.SubStatus), s(f.Caller), s(f.CallerIp), s(f.AppId), s(f.Client), s(f.PrincipalType),
		s(f.TenantId), s(f.SubID), s(f.ResourceGroup), s(f.VM), s(f.ExtensionName), s(f.ResourceId),
		s(f.CorrelationId), list(o.OperationIds), o.Events, list(o.Phases), list(o.Statuses), f.RequestBody,
		list(o.Formats), list(o.OSPaths))
}

// Folder folds events into operations.
type Folder struct {
	byKey map[string]*Operation
	order []*Operation
}

// NewFolder returns an empty Folder.
func NewFolder() *Folder { return &Folder{byKey: map[string]*Operation{}} }

// Add folds one event in. Events without a correlation id or operation
// id are operations of their own.
func (fo *Folder) Add(e *Event) {
	id := e.CorrelationId
	if id == "" {
		id = e.OperationId
	}
	var o *Operation
	if id != "" {
		key := strings.ToLower(id + "\x00" + e.Operation + "\x00" + e.ResourceId)
		if o = fo.byKey[key]; o == nil {
			o = &Operation{}
			fo.byKey[key] = o
			fo.order = append(fo.order, o)
		}
	} else {
		o = &Operation{}
		fo.order = append(fo.order, o)
	}
	o.add(e)
}

// Operations are the folded operations by start time (no time last),
// then correlation id.
func (fo *Folder) Operations() []*Operation {
	out := append([]*Operation(nil), fo.order...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Start.IsZero() != b.Start.IsZero() {
			return !a.Start.IsZero()
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.ev.CorrelationId < b.ev.CorrelationId
	})
	return out
}

// OperationsPlugin is azure_activity_operations.
type OperationsPlugin struct{}

// Info describes the plugin.
func (OperationsPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: opsPlugin,
		Doc: "Azure Activity Log operations: the events of one operation (same correlation id, operation and resource) across " +
			"every file given folded into one row with its start, end, final status and caller. Columns: " + strings.Join(OpColumns, ", ") + ".",
		ArgType: typeMap.AddType(scope, &Args{}),
		Version: 1,
	}
}

// Columns are the plugin's row columns (vqlkit.Declared).
func (OperationsPlugin) Columns() []string { return OpColumns }

// Call runs the plugin.
func (OperationsPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &Args{}
	return vqlkit.Run(ctx, scope, args, opsPlugin, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		fo := NewFolder()
		ReadFiles(ctx, scope, opsPlugin, arg, func(e *Event) bool { fo.Add(e); return true })
		for _, o := range fo.Operations() {
			if !vqlkit.Send(ctx, out, o.Row()) {
				return
			}
		}
	})
}
