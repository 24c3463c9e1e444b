package extensions

import (
	"bytes"
	"context"
	"errors"
	"sort"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
)

// Where the agents keep copies of the status blob they upload (docs/formats.md §3).
var aggregateGlobs = []struct{ OS, Glob string }{
	{"Windows", `C:\WindowsAzure\Logs\AggregateStatus\aggregatestatus*.json`},
	{"Linux", "/var/lib/waagent/waagent_status.json"},
	{"Linux", "/var/lib/waagent/history/*/waagent_status.json"},
}

// Aggregate is one status-blob snapshot.
type Aggregate struct {
	Encoding     string
	Empty        bool
	TimestampRaw string
	AgentVersion string
	AgentStatus  string
	AgentMessage string
	Handlers     []AggregateEntry
}

// AggregateEntry is one handler (and, for multi-config handlers, one
// extension) of a snapshot.
type AggregateEntry struct {
	Handler, HandlerVersion, HandlerStatus string
	HandlerCode                            any
	HandlerMessage                         string
	ExtensionName                          string
	SeqNo                                  *int64
	Settings                               *Status // runtimeSettingsStatus.settingsStatus; nil when absent
}

// ParseAggregateStatus parses a status blob ({"version", "timestampUTC",
// "aggregateStatus": {"guestAgentStatus", "handlerAggregateStatus": [...]}}):
// BOM and UTF-16 accepted, runtimeSettingsStatus as an object or a list,
// key case ignored (as everywhere in this package). It returns what it could read with an error for
// malformed input.
// It is long because it reads the blob's parts in document order, each
// block one part; split, the parts would pass a half-read Aggregate around.
func ParseAggregateStatus(data []byte) (*Aggregate, error) {
	text, enc := evidence.DecodeText(data)
	a := &Aggregate{Encoding: enc}
	if len(bytes.TrimSpace(text)) == 0 {
		a.Empty = true
		return a, nil
	}
	v, err := decodeJSON(text)
	if err != nil {
		return a, err
	}
	top := asDict(v)
	if l, ok := v.([]any); ok && len(l) > 0 {
		top = asDict(l[0])
	}
	if top == nil {
		return a, errors.New("top level is not a JSON object")
	}
	a.TimestampRaw, _ = getStr(top, "timestampUTC")
	agg := getDict(top, "aggregateStatus")
	if agg == nil {
		return a, errors.New("no aggregateStatus object")
	}
	if ga := getDict(agg, "guestAgentStatus"); ga != nil {
		a.AgentVersion, _ = getStr(ga, "version")
		a.AgentStatus, _ = getStr(ga, "status")
		if fm := getDict(ga, "formattedMessage"); fm != nil {
			a.AgentMessage, _ = getStr(fm, "message")
		}
	}
	hl, _ := get(agg, "handlerAggregateStatus")
	list, _ := hl.([]any)
	for _, h := range list {
		hd := asDict(h)
		if hd == nil {
			continue
		}
		base := AggregateEntry{}
		base.Handler, _ = getStr(hd, "handlerName")
		base.HandlerVersion, _ = getStr(hd, "handlerVersion")
		base.HandlerStatus, _ = getStr(hd, "status")
		if c, ok := get(hd, "code"); ok {
			base.HandlerCode = normCode(c)
		}
		if fm := getDict(hd, "formattedMessage"); fm != nil {
			base.HandlerMessage, _ = getStr(fm, "message")
		}
		rss, _ := get(hd, "runtimeSettingsStatus")
		var items []*ordereddict.Dict
		switch t := rss.(type) {
		case *ordereddict.Dict:
			items = append(items, t)
		case []any:
			for _, x := range t {
				if d := asDict(x); d != nil {
					items = append(items, d)
				}
			}
		}
		if len(items) == 0 {
			a.Handlers = append(a.Handlers, base)
			continue
		}
		for _, it := range items {
			e := base
			e.ExtensionName, _ = getStr(it, "extensionName")
			if n, ok := get(it, "sequenceNumber"); ok {
				if i, ok := asInt(n); ok {
					e.SeqNo = &i
				}
			}
			if ss := getDict(it, "settingsStatus"); ss != nil {
				st := &Status{}
				st.fromItem(ss)
				e.Settings = st
			}
			a.Handlers = append(a.Handlers, e)
		}
	}
	return a, nil
}

// ---------------------------------------------------------------------
// azure_aggregate_status

type aggregateArgs struct {
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system (the C: drive for Windows or / for Linux) as an accessor path; default the running system's."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto)."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets (SAS signatures and storage keys and passwords) in messages and output; default true."`
}

// AggregateStatusPlugin is azure_aggregate_status.
type AggregateStatusPlugin struct{}

func (AggregateStatusPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: "azure_aggregate_status",
		Doc: "The status blobs the guest agent reported, as kept on the VM (Windows C:\\WindowsAzure\\Logs\\AggregateStatus\\aggregatestatus*.json snapshots; " +
			"Linux waagent_status.json and history/*/waagent_status.json): one row per handler or extension status per snapshot, a timeline of what each extension reported.",
		ArgType: tm.AddType(scope, &aggregateArgs{}),
		Version: 1,
	}
}

func (AggregateStatusPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_aggregate_status"
	a := &aggregateArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		red := vqlkit.Redact(args, a.Redact)
		r := vqlkit.OpenRoot(scope, name, a.Accessor, a.Root)
		if r == nil {
			return
		}
		logf := func(f string, x ...any) { vqlkit.Logf(scope, name, f, x...) }
		WalkAggregateStatus(ctx, r, red, logf, func(row *ordereddict.Dict) bool {
			return vqlkit.Send(ctx, out, row)
		})
	})
}

// WalkAggregateStatus emits the rows of every snapshot under r, files in
// OSPath order, entries in document order.
func WalkAggregateStatus(ctx context.Context, r *evidence.Root, red bool, logf func(string, ...any), emit func(*ordereddict.Dict) bool) {
	type file struct {
		os string
		e  evidence.Entry
	}
	var files []file
	for _, g := range aggregateGlobs {
		list, err := r.Glob(g.Glob)
		if err != nil {
			continue
		}
		for _, e := range list {
			if e.IsDir {
				r.Report(evidence.CheckFile(e))
				continue
			}
			files = append(files, file{g.OS, e})
		}
	}
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].os != files[j].os {
			return files[i].os < files[j].os
		}
		return files[i].e.OSPath < files[j].e.OSPath
	})
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		e := f.e
		snap := ordereddict.NewDict().
			Set("OS", f.os).
			Set("OSPath", e.OSPath).
			Set("Mtime", vqlkit.Time(e.Mtime))
		var agg *Aggregate
		var perr error
		if e.IsLink {
			perr = ErrSymlink
		} else {
			b, trunc, _, err := readHashed(r, e.OSPath, e.Size, MaxDocBytes, false)
			if err != nil {
				perr = errors.New("read: " + reason(err).Error())
			} else {
				if trunc {
					logf("%s: larger than %d bytes; parsed the start only", e.OSPath, MaxDocBytes)
				}
				agg, perr = ParseAggregateStatus(b)
				if perr == nil && agg.Empty {
					perr = errors.New("0-byte file")
				}
			}
		}
		if perr != nil {
			logf("%s: %v", e.OSPath, perr)
		}
		if agg == nil {
			agg = &Aggregate{}
		}
		if len(agg.Handlers) == 0 {
			// A snapshot with no handler status is still a row: the
			// agent reported at that time (or the file is damaged).
			if !emit(aggregateRow(snap, agg, nil, perr, red)) {
				return
			}
			continue
		}
		for i := range agg.Handlers {
			if !emit(aggregateRow(snap, agg, &agg.Handlers[i], perr, red)) {
				return
			}
		}
	}
}

func aggregateRow(snap *ordereddict.Dict, a *Aggregate, h *AggregateEntry, perr error, red bool) *ordereddict.Dict {
	d := ordereddict.NewDict()
	for _, k := range snap.Keys() {
		v, _ := snap.Get(k)
		d.Set(k, v)
	}
	d.Set("SnapshotTime", vqlkit.Time(ParseTime(a.TimestampRaw))).
		Set("AgentVersion", vqlkit.Str(a.AgentVersion)).
		Set("AgentStatus", vqlkit.Str(a.AgentStatus))
	if h == nil {
		h = &AggregateEntry{}
	}
	s := h.Settings
	if s == nil {
		s = &Status{}
	}
	var msg, subs interface{}
	if s.HasMessage {
		msg = redactStr(s.Message, red)
	}
	if len(s.Substatus) > 0 {
		l := make([]interface{}, len(s.Substatus))
		for i, x := range s.Substatus {
			l[i] = maybeRedact(x, red)
		}
		subs = l
	}
	return d.
		Set("Handler", vqlkit.Str(h.Handler)).
		Set("HandlerVersion", vqlkit.Str(h.HandlerVersion)).
		Set("HandlerStatus", vqlkit.Str(h.HandlerStatus)).
		Set("HandlerCode", h.HandlerCode).
		Set("HandlerMessage", vqlkit.Str(redactStr(h.HandlerMessage, red))).
		Set("ExtensionName", vqlkit.Str(h.ExtensionName)).
		Set("SeqNo", vqlkit.Int(h.SeqNo)).
		Set("Name", vqlkit.Str(s.Name)).
		Set("Operation", vqlkit.Str(s.Operation)).
		Set("Status", vqlkit.Str(s.State)).
		Set("Code", s.Code).
		Set("Message", msg).
		Set("StdOut", strPtr(s.StdOut, red)).
		Set("StdErr", strPtr(s.StdErr, red)).
		Set("ExitCode", vqlkit.Int(s.ExitCode)).
		Set("ExecutionState", vqlkit.Str(s.ExecutionState)).
		Set("Timestamp", vqlkit.Time(s.Timestamp)).
		Set("Substatus", subs).
		Set("Encoding", vqlkit.Str(a.Encoding)).
		Set("ParseError", errString(perr))
}
