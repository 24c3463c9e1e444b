package handlerlog

import (
	"time"

	"github.com/Velocidex/ordereddict"
)

// Format names a log dialect: the value of the Format column.
const (
	FormatLogfmt     = "logfmt"         // Go handlers' handler.log (go-kit logfmt, 2016 snapshot)
	FormatWaagent    = "waagent"        // waagent.log lines (Linux CommandExecution.log), parsed by plugins/agentlog
	FormatOSTC       = "ostc"           // OSTC python extensions' extension.log (waagent 2.0 logger)
	FormatWinPlugin  = "windows-plugin" // [pid+tid] [MM/DD/YYYY HH:MM:SS.ff] [LEVEL] (RunCommandExtension.log, CustomScriptHandler.log, RunCommandHandler.log)
	FormatWaAppAgent = "waappagent"     // [tid] [MM/DD/YYYY ...] or ISO [LEVEL] (WaAppAgent.log, TransparentInstaller.log)
	FormatText       = "text"           // nothing recognised: one unparsed row per line
)

// Formats lists the dialects (for docs and tests).
var Formats = []string{FormatLogfmt, FormatWaagent, FormatOSTC, FormatWinPlugin, FormatWaAppAgent, FormatText}

// Record is one log record: a first line and the lines attached to it.
type Record struct {
	Line          int64 // 1-based line of the first line
	Time          time.Time
	Level         string
	Pid, Tid      int64 // -1: not logged
	Handler       string
	Version       string
	Operation     string
	SeqNo         int64 // -1: unknown
	ExtensionName string
	Event         string
	Message       string
	Error         string
	ExitCode      int64
	HasExitCode   bool
	Fields        *ordereddict.Dict
	Format        string
	Unparsed      bool // a line that fits no record (text before the first record, binary garbage)
	Truncated     bool // a line was cut at the line cap or the record at the record cap
	Lines         int  // number of lines in the record
}

func newRecord(line int64, format string) Record {
	return Record{Line: line, Pid: -1, Tid: -1, SeqNo: -1, Format: format, Lines: 1}
}
