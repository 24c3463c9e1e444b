// Package agentlog parses the Azure Linux guest agent's log
// (/var/log/waagent.log and its rotations, every format era since waagent
// 2.0) and agent lines wrapped by syslog or the journal
// (/var/log/syslog, /var/log/messages): azure_waagent_log.
//
// The parser is a hand-written byte scanner (no regular expressions on
// the hot path), streams with a capped line length, and allocates only
// for the rows it emits. docs/plugins-agentlog.md documents the columns,
// eras and Event vocabulary.
package agentlog

import (
	"context"
	"time"
	_ "time/tzdata" // tz= must work on hosts without a zoneinfo database

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/logscan"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const pluginName = "azure_waagent_log"

// DefaultFilename is read when no filename is given.
const DefaultFilename = "/var/log/waagent.log"

// Columns are the row columns, in order.
var Columns = []string{
	"Line", "Time", "Level", "Thread", "Tag", "Handler", "HandlerVersion", "ExtensionName",
	"Message", "Event", "SeqNo", "Env", "Host", "Pid", "Era", "Unparsed",
}

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{WaagentLogPlugin{}, WaagentJournalPlugin{}}
}

// Functions returns the functions of this package (none).
func Functions() []vfilter.FunctionInterface { return nil }

// WaagentLogArgs are the arguments of azure_waagent_log.
type WaagentLogArgs struct {
	Filename string `vfilter:"optional,field=filename,doc=The log to read, as a path on the evidence system (default /var/log/waagent.log). Rotations (.gz, .bz2) are detected by their content; syslog and messages files are read too."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files)."`
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system (a mounted image or a folder of collected files); filename is a path below it. Default: the running system."`
	Tz       string `vfilter:"optional,field=tz,doc=IANA time zone of the VM for the local-time eras (agents before 2.2.46) and BSD syslog stamps, e.g. America/New_York (default UTC)."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets (SAS sig= values and storage keys and passwords) in Message and Env; default true."`
	// The filters drop records before their row is built
	// (vqlkit.RecordFilter: the same rows as the filter written in VQL).
	After        vfilter.Any `vfilter:"optional,field=after,doc=Only records at or after this time (a timestamp or RFC 3339 string; empty: no limit). Records without a time are kept (as the artifacts' DateAfter)."`
	Before       vfilter.Any `vfilter:"optional,field=before,doc=Only records at or before this time (a timestamp or RFC 3339 string; empty: no limit). Records without a time are kept (as the artifacts' DateBefore)."`
	HandlerRegex string      `vfilter:"optional,field=handler_regex,doc=Only records whose Handler matches this regex (case-insensitive as =~); records without a handler are dropped. Empty: every record."`
	Levels       vfilter.Any `vfilter:"optional,field=levels,doc=Only records whose Level is one of these (e.g. ERROR, WARNING); empty: every level."`
	Events       vfilter.Any `vfilter:"optional,field=events,doc=Only records whose Event is one of these (docs/plugins-agentlog.md lists the vocabulary); empty: every record."`
}

// WaagentLogPlugin is azure_waagent_log.
type WaagentLogPlugin struct{}

// Info describes the plugin.
func (WaagentLogPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: pluginName,
		Doc: "Parse the Azure Linux agent log (waagent.log of every era, its gzip rotations, and agent lines in syslog/messages) " +
			"into one row per record. Columns: Line, Time, Level, Thread, Tag, Handler, HandlerVersion, ExtensionName, " +
			"Message, Event, SeqNo, Env, Host, Pid, Era, Unparsed.",
		ArgType: typeMap.AddType(scope, &WaagentLogArgs{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (WaagentLogPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &WaagentLogArgs{}
	return vqlkit.Run(ctx, scope, args, pluginName, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		if arg.Filename == "" {
			arg.Filename = DefaultFilename
		}
		loc := time.UTC
		if arg.Tz != "" {
			l, err := time.LoadLocation(arg.Tz)
			if err != nil {
				vqlkit.Logf(scope, pluginName, "tz %q: %v", arg.Tz, err)
				return
			}
			loc = l
		}
		filter, err := vqlkit.NewRecordFilter(vqlkit.FilterArgs{After: arg.After, Before: arg.Before,
			HandlerRegex: arg.HandlerRegex, Levels: arg.Levels, Events: arg.Events})
		if err != nil {
			vqlkit.Errorf(scope, pluginName, "%v", err)
			return
		}
		root := vqlkit.OpenRootForFile(scope, pluginName, arg.Accessor, arg.Root)
		if root == nil {
			return
		}
		osPath := evidence.ParseEvPath(arg.Filename).String()
		opt := Options{Loc: loc}
		if e, err := root.Lstat(arg.Filename); err == nil && !e.Mtime.IsZero() {
			mt := e.Mtime.In(loc)
			opt.YearHint, opt.MonthHint = mt.Year(), int(mt.Month())
		}
		f, err := root.Open(arg.Filename)
		if err != nil {
			vqlkit.Logf(scope, pluginName, "%v", err)
			return
		}
		defer f.Close()
		rb := &RowBuilder{Redact: arg.Redact}
		keep := newKeeper(filter)
		var a *Assembler
		a = NewAssembler(opt, func(r *Record) bool {
			if r.Truncated {
				vqlkit.Logf(scope, pluginName, "%s: line %d: record truncated (line longer than %d bytes or record larger than %d bytes)",
					osPath, r.Line, logscan.DefaultMaxLine, logscan.DefaultMaxRecord)
			}
			if !keep.keep(r) {
				return ctx.Err() == nil
			}
			return vqlkit.Send(ctx, out, rb.Row(r))
		})
		kind, err := Scan(f, a)
		if err != nil {
			reportScanError(scope, osPath, kind, a.Lines(), err)
		}
	})
}

func reportScanError(scope types.Scope, osPath, kind string, lines int64, err error) {
	vqlkit.Logf(scope, pluginName, "%s", logscan.ReadError(osPath, kind, lines, err))
}

// Keep reports whether the record passes f, tested on the values its
// row would hold (Time, Handler, Level, Event), cheapest test first.
func Keep(f *vqlkit.RecordFilter, r *Record) bool {
	if !f.KeepTime(r.Time) || !f.KeepHandler(r.Handler.str()) || !f.KeepLevel(r.Level.str()) {
		return false
	}
	return f.Events == nil || f.KeepEvent(eventOf(r).str())
}

// keeper is Keep with the handler regex's answer remembered per
// interned handler name: a log names a few handlers in a million
// records, and the regex cost more than the rest of the test.
type keeper struct {
	f       *vqlkit.RecordFilter
	handler map[*istr]bool
}

func newKeeper(f *vqlkit.RecordFilter) *keeper {
	return &keeper{f: f, handler: map[*istr]bool{}}
}

func (k *keeper) keep(r *Record) bool {
	f := k.f
	if !f.KeepTime(r.Time) {
		return false
	}
	if f.Handler != nil {
		ok, seen := k.handler[r.Handler]
		if !seen {
			ok = f.KeepHandler(r.Handler.str())
			if len(k.handler) < maxInterned {
				k.handler[r.Handler] = ok
			}
		}
		if !ok {
			return false
		}
	}
	return f.KeepLevel(r.Level.str()) && (f.Events == nil || f.KeepEvent(eventOf(r).str()))
}

// eventOf is the record's Event column (nil for unparsed lines and lines
// from other programs in syslog).
func eventOf(r *Record) *istr {
	if r.Unparsed || r.era == eraSyslog {
		return nil
	}
	return classify(r.Msg)
}

// RowBuilder turns records into rows. Not safe for concurrent use.
type RowBuilder struct {
	Redact bool
	env    strCache // the Env dicts' repeated strings
}

// Row builds the row of a record.
func (rb *RowBuilder) Row(r *Record) *ordereddict.Dict {
	ev, env, ext, seq := derive(r, &rb.env)
	m := logscan.String(r.Msg)
	if rb.Redact && redact.MayHoldSecret(r.Msg) {
		m = redact.CommandLine(m)
		if env != nil {
			if d, ok := redact.Value(env).(*ordereddict.Dict); ok {
				env = d
			}
		}
	}
	var envVal, pid, seqVal interface{}
	if env != nil {
		envVal = env
	}
	if r.Pid >= 0 {
		pid = r.Pid
	}
	if seq.ok {
		seqVal = seq.n
	}
	return rowColumns.Row(r.Line, vqlkit.Time(r.Time), r.Level.val(), r.Thread.val(), r.Tag.val(),
		r.Handler.val(), r.HandlerVersion.val(), ext.val(), m, ev.val(), seqVal, envVal,
		r.Host.val(), pid, eraVals[r.era], r.Unparsed)
}

type optInt struct {
	n  int64
	ok bool
}

// derive computes the columns a record's message decides: Event, Env
// (of an Executing record, not redacted, its strings through envCache;
// only with an envCache), ExtensionName (the prefix's, else Env's
// ConfigExtensionName) and SeqNo.
func derive(r *Record, envCache *strCache) (ev *istr, env *ordereddict.Dict, ext *istr, seq optInt) {
	ext = r.ExtensionName
	if r.Unparsed || r.era == eraSyslog {
		return nil, nil, ext, seq
	}
	msg := r.Msg
	ev = eventOf(r)
	var facts envFacts
	if ev != nil && ev.s == EvExecuting {
		if envCache != nil {
			env = parseEnv(msg, envCache)
			facts = factsOf(env)
		} else {
			facts = envFactsOf(msg)
		}
		if ext == nil && facts.ext != "" {
			ext = newIstr(facts.ext)
		}
	}
	seq.n, seq.ok = seqNo(msg, facts)
	return ev, env, ext, seq
}

// Summary is what a record's row says about an extension run: the
// values of its Level, Handler, HandlerVersion, ExtensionName, Event
// and SeqNo columns ("" and HasSeqNo false where the row holds NULL),
// computed as Row computes them but without building the row (nor the
// Message string, nor redacting). azure_log_executions reads these of
// every record of a large waagent.log.
type Summary struct {
	Level, Handler, HandlerVersion, ExtensionName, Event string
	SeqNo                                                int64
	HasSeqNo                                             bool
}

// Summary summarises a record (see Summary).
func (rb *RowBuilder) Summary(r *Record) Summary {
	ev, _, ext, seq := derive(r, nil)
	return Summary{Level: r.Level.str(), Handler: r.Handler.str(), HandlerVersion: r.HandlerVersion.str(),
		ExtensionName: ext.str(), Event: ev.str(), SeqNo: seq.n, HasSeqNo: seq.ok}
}

// Message is the record's Message column, redacted as Row redacts it.
func (rb *RowBuilder) Message(r *Record) string {
	m, _ := rb.MessageClean(r)
	return m
}

// MessageClean is Message, and whether redaction leaves the message as
// it is: with Redact, the secret gate found nothing in it (then
// redact.String returns it, and any part of it, unchanged).
func (rb *RowBuilder) MessageClean(r *Record) (string, bool) {
	m := logscan.String(r.Msg)
	if rb.Redact && redact.MayHoldSecret(r.Msg) {
		return redact.CommandLine(m), false
	}
	return m, rb.Redact
}

// HasHandler reports whether the record's Handler column is set.
func (r *Record) HasHandler() bool { return r.Handler != nil }

// rowColumns builds rows in Columns' order; Row passes its values in that
// order (the golden tests pin every column's value).
var rowColumns = vqlkit.NewColumns(Columns...)

// Columns are the plugin's row columns (vqlkit.Declared).
func (WaagentLogPlugin) Columns() []string { return Columns }
