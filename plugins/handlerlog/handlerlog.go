// Package handlerlog parses the logs VM extension handlers and the
// Windows guest agent write, which survive the deletion of an extension
// (the agent removes the handler folder, not its logs):
// azure_handler_log reads one log of any known dialect (detected per
// file), azure_log_executions rebuilds executions from logs alone.
//
// Dialects: Linux handler.log (go-kit logfmt, with shim and bash lines
// attached to the record before them), Linux CommandExecution.log and
// waagent.log (waagent lines, parsed by plugins/agentlog), OSTC
// extension.log, Windows plugin logs ([pid+tid] [MM/DD/YYYY ...] [LEVEL],
// multi-line bodies), WaAppAgent.log and TransparentInstaller.log (both
// timestamp forms). docs/plugins-handlerlog.md documents the columns.
package handlerlog

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/agentlog"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/logscan"
	"github.com/azvql/azvql/plugins/vqlkit"
	"www.velocidex.com/golang/vfilter"
	"www.velocidex.com/golang/vfilter/types"
)

const pluginName = "azure_handler_log"

// Columns are the row columns of azure_handler_log, in order.
var Columns = []string{
	"Line", "Time", "Level", "Pid", "Tid", "Handler", "Version", "Operation", "SeqNo",
	"ExtensionName", "Event", "Message", "Error", "ExitCode", "Fields", "Format", "Unparsed",
}

// Plugins returns the plugins of this package.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{HandlerLogPlugin{}, ExecutionsPlugin{}}
}

// Functions returns the functions of this package (none).
func Functions() []vfilter.FunctionInterface { return nil }

// HandlerLogArgs are the arguments of azure_handler_log.
type HandlerLogArgs struct {
	Filename string `vfilter:"required,field=filename,doc=The log to read, as a path on the evidence system (handler.log, CommandExecution.log, extension.log, a Windows plugin log, WaAppAgent.log, TransparentInstaller.log). gzip/bzip2 rotations and UTF-16 files are read transparently."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor that reads the evidence (default auto: the host's files)."`
	Root     string `vfilter:"optional,field=root,doc=The root of the evidence system (a mounted image or a folder of collected files); filename is a path below it. Default: the running system."`
	Tz       string `vfilter:"optional,field=tz,doc=IANA time zone of timestamps written without one (Windows MM/DD/YYYY stamps and OSTC and old waagent local times); default UTC."`
	Format   string `vfilter:"optional,field=format,doc=Force a dialect (logfmt waagent ostc windows-plugin waappagent text) instead of detecting it from the first lines."`
	Redact   bool   `vfilter:"optional,field=redact,doc=Redact secrets (SAS sig= values and storage keys and passwords echoed by handlers) in Message and Error and Fields; default true."`
	// The filters drop records before their row is built
	// (vqlkit.RecordFilter: the same rows as the filter written in VQL).
	After        vfilter.Any `vfilter:"optional,field=after,doc=Only records at or after this time (a timestamp or RFC 3339 string; empty: no limit). Records without a time are kept (as the artifacts' DateAfter)."`
	Before       vfilter.Any `vfilter:"optional,field=before,doc=Only records at or before this time (a timestamp or RFC 3339 string; empty: no limit). Records without a time are kept (as the artifacts' DateBefore)."`
	HandlerRegex string      `vfilter:"optional,field=handler_regex,doc=Only records whose Handler matches this regex (case-insensitive as =~); records without a handler are dropped. Empty: every record."`
	Levels       vfilter.Any `vfilter:"optional,field=levels,doc=Only records whose Level is one of these (as the log writes it, e.g. ERROR, Error); empty: every level."`
	Events       vfilter.Any `vfilter:"optional,field=events,doc=Only records whose Event is one of these (docs/plugins-handlerlog.md lists the vocabulary); empty: every record."`
}

// HandlerLogPlugin is azure_handler_log.
type HandlerLogPlugin struct{}

// Info describes the plugin.
func (HandlerLogPlugin) Info(scope types.Scope, typeMap *types.TypeMap) *types.PluginInfo {
	return &types.PluginInfo{
		Name: pluginName,
		Doc: "Parse one VM extension handler or guest agent log (Linux handler.log logfmt and CommandExecution.log, OSTC extension.log, " +
			"Windows RunCommandExtension.log / RunCommandHandler.log / CustomScriptHandler.log, WaAppAgent.log, TransparentInstaller.log) " +
			"into one row per record; the dialect is detected per file. Columns: Line, Time, Level, Pid, Tid, Handler, Version, Operation, " +
			"SeqNo, ExtensionName, Event, Message, Error, ExitCode, Fields, Format, Unparsed.",
		ArgType: typeMap.AddType(scope, &HandlerLogArgs{}),
		Version: 1,
	}
}

// Call runs the plugin.
func (HandlerLogPlugin) Call(ctx context.Context, scope types.Scope, args *ordereddict.Dict) <-chan types.Row {
	arg := &HandlerLogArgs{}
	return vqlkit.Run(ctx, scope, args, pluginName, arg, func(out chan vfilter.Row) {
		arg.Redact = vqlkit.Redact(args, arg.Redact)
		loc, err := loadTz(arg.Tz)
		if err != nil {
			vqlkit.Logf(scope, pluginName, "tz %q: %v", arg.Tz, err)
			return
		}
		if arg.Format != "" && !knownFormat(arg.Format) {
			vqlkit.Logf(scope, pluginName, "format %q: unknown (one of %v)", arg.Format, Formats)
			return
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
		opt := Options{Format: arg.Format, Name: arg.Filename, Loc: loc, Redact: arg.Redact}
		ReadFile(ctx, root, opt, func(msg string) { vqlkit.Logf(scope, pluginName, "%s", msg) },
			func(r *Record) bool {
				if !Keep(filter, r) {
					return ctx.Err() == nil
				}
				return vqlkit.Send(ctx, out, Row(r))
			})
	})
}

// Keep reports whether the record passes f, tested on the values its
// row holds (Time, Handler, Level, Event).
func Keep(f *vqlkit.RecordFilter, r *Record) bool {
	return f.KeepTime(r.Time) && f.KeepHandler(r.Handler) && f.KeepLevel(r.Level) && f.KeepEvent(r.Event)
}

func loadTz(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(tz)
}

func knownFormat(f string) bool {
	for _, k := range Formats {
		if k == f {
			return true
		}
	}
	return false
}

// ReadFile parses the log opt.Name of root and calls emit for every
// record; problems (unreadable, damaged compression, cut lines) go to
// logf with the file's evidence path. It returns the dialect used.
func ReadFile(ctx context.Context, root *evidence.Root, opt Options, logf func(string), emit func(*Record) bool) string {
	osPath := EvidencePath(root, opt.Name)
	opt.Name = osPath
	f, err := root.Open(opt.Name)
	if err != nil {
		logf(err.Error())
		return ""
	}
	defer f.Close()
	return Read(ctx, f, opt, logf, emit)
}

// EvidencePath is the path on the evidence system of a filename given to
// a plugin: an evidence path (/var/log/azure/x, C:\WindowsAzure\...)
// as it is, or an accessor path below root (what glob(root=Root)
// returns as OSPath) with root's part removed.
func EvidencePath(root *evidence.Root, filename string) string {
	if root != nil && root.Base != "" {
		if p, ok := belowRoot(root.Base, filename); ok {
			return p
		}
	}
	return evidence.ParseEvPath(filename).String()
}

// windowsTop are top-level folders that make a path below root a Windows
// (C:) path.
var windowsTop = map[string]bool{"packages": true, "windowsazure": true, "windows": true, "programdata": true, "users": true}

// belowRoot: filename as an evidence path when it lies below the accessor
// path base.
func belowRoot(base, filename string) (string, bool) {
	r := strings.TrimRight(strings.ReplaceAll(base, `\`, "/"), "/")
	f := strings.ReplaceAll(filename, `\`, "/")
	if !strings.HasPrefix(f, r+"/") {
		ar, err1 := filepath.Abs(base)
		af, err2 := filepath.Abs(filename)
		if err1 != nil || err2 != nil {
			return "", false
		}
		r = strings.TrimRight(filepath.ToSlash(ar), "/")
		f = filepath.ToSlash(af)
		if !strings.HasPrefix(f, r+"/") {
			return "", false
		}
	}
	ev := evidence.ParseEvPath(f[len(r):])
	if len(ev.Parts) > 0 && windowsTop[strings.ToLower(ev.Parts[0])] {
		ev.Windows, ev.Drive = true, "C:"
	}
	return ev.String(), true
}

// Read parses a log stream (see ReadFile).
func Read(ctx context.Context, f io.Reader, opt Options, logf func(string), emit func(*Record) bool) string {
	osPath := opt.Name
	br, kind, err := logscan.Decompress(f)
	if err != nil {
		logf(osPath + ": " + err.Error() + ": not read")
		return ""
	}
	if u := logscan.UTF16(br); u != "" {
		br = bufio.NewReaderSize(logscan.NewUTF16Reader(br, u == "be"), logscan.ReadBuf)
	}
	head, _ := br.Peek(16 << 10)
	format := opt.Format
	if format == "" {
		format = Detect(head, osPath)
	}
	if format == FormatWaagent {
		readWaagent(ctx, br, opt, kind, logf, emit)
		return format
	}
	p := NewAssembler(opt, format, func(r *Record) bool {
		if r.Truncated {
			logf(osPath + ": line " + itoa(r.Line) + ": record truncated (line or record longer than the cap)")
		}
		return emit(r)
	})
	lr := logscan.NewLineReader(br, p.opt.MaxLine)
	for {
		if ctx.Err() != nil {
			return format
		}
		line, cut, err := lr.Next()
		if err != nil {
			p.Flush()
			if err != io.EOF {
				reportReadError(logf, osPath, kind, p.Lines(), err)
			}
			return format
		}
		if !p.Line(line, cut) {
			return format
		}
	}
}

func reportReadError(logf func(string), osPath, kind string, lines int64, err error) {
	logf(logscan.ReadError(osPath, kind, lines, err))
}

// Row builds the row of a record.
func Row(r *Record) *ordereddict.Dict {
	var exit, fields any
	if r.HasExitCode {
		exit = r.ExitCode
	}
	if r.Fields != nil {
		fields = r.Fields
	}
	return rowColumns.Row(r.Line, vqlkit.Time(r.Time), vqlkit.Str(r.Level), optInt(r.Pid), optInt(r.Tid),
		vqlkit.Str(r.Handler), vqlkit.Str(r.Version), vqlkit.Str(r.Operation), optInt(r.SeqNo),
		vqlkit.Str(r.ExtensionName), vqlkit.Str(r.Event), vqlkit.Str(r.Message), vqlkit.Str(r.Error),
		exit, fields, r.Format, r.Unparsed)
}

// rowColumns builds rows in Columns' order; Row passes its values in that
// order (the golden tests pin every column's value).
var rowColumns = vqlkit.NewColumns(Columns...)

func optInt(n int64) any {
	if n < 0 {
		return nil
	}
	return n
}

func newFields() *ordereddict.Dict { return ordereddict.NewDict() }

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// ensure agentlog stays linked for the waagent dialect.
var _ = agentlog.Columns

// Columns are the plugin's row columns (vqlkit.Declared).
func (HandlerLogPlugin) Columns() []string { return Columns }

// Columns are the plugin's row columns (vqlkit.Declared).
func (ExecutionsPlugin) Columns() []string { return ExecColumns }
