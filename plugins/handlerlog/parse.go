package handlerlog

import (
	"bytes"
	"strings"
	"time"

	"github.com/azvql/azvql/plugins/logscan"
	"github.com/azvql/azvql/plugins/redact"
)

// Options tune an Assembler.
type Options struct {
	Format    string         // dialect; "" = detect from the first lines and the file name
	Name      string         // the file's path on the evidence system: a hint for the dialect, Handler and Version
	Loc       *time.Location // zone of timestamps written without one (default UTC)
	Redact    bool           // redact secrets in Message, Error and Fields
	MaxLine   int            // longest line kept (default logscan.DefaultMaxLine)
	MaxRecord int            // largest record (default logscan.DefaultMaxRecord); past it lines start a new row
	// ExecOnly: the records feed an ExecBuilder and nothing else. In
	// waagent-format logs, records of no handler are not emitted and the
	// others carry only what ExecBuilder reads (no Fields but an OSTC
	// status, Message only where it decides a field): their rows are
	// never built. Other dialects ignore it.
	ExecOnly bool
}

const maxProcs = 4096 // per-process state kept for Windows plugin logs

// procState is what a Windows handler process announced about itself;
// its later lines carry it.
type procState struct {
	op, ext string
	seq     int64
}

// Assembler turns lines of one log file into records. Feed it with Line,
// finish with Flush. emit returns false to stop.
type Assembler struct {
	opt    Options
	format string
	emit   func(*Record) bool
	hint   pathHint

	line  int64
	cur   Record
	have  bool
	msg   []byte
	procs map[int64]*procState
	ostc  procState
}

// NewAssembler returns a parser for the given (detected or forced) format.
func NewAssembler(opt Options, format string, emit func(*Record) bool) *Assembler {
	if opt.Loc == nil {
		opt.Loc = time.UTC
	}
	opt.MaxLine, opt.MaxRecord = logscan.Caps(opt.MaxLine, opt.MaxRecord)
	return &Assembler{opt: opt, format: format, emit: emit, hint: hintFromPath(opt.Name),
		procs: map[int64]*procState{}, ostc: procState{seq: -1}}
}

// Lines is the number of lines fed so far.
func (p *Assembler) Lines() int64 { return p.line }

// Flush emits the record being assembled.
func (p *Assembler) Flush() bool {
	if !p.have {
		return true
	}
	p.have = false
	r := &p.cur
	if len(p.msg) > 0 {
		if r.Message != "" {
			r.Message += "\n" + logscan.String(p.msg)
		} else {
			r.Message = logscan.String(p.msg)
		}
	}
	p.msg = p.msg[:0]
	p.finish(r)
	if p.opt.Redact {
		r.Message = p.redactStr(r.Message)
		r.Error = p.redactStr(r.Error)
	}
	return p.emit(r)
}

func (p *Assembler) redactStr(s string) string {
	if !p.opt.Redact || s == "" {
		return s
	}
	return redact.CommandLine(s)
}

// Line feeds one line (without its line ending); cut says the reader
// truncated it.
func (p *Assembler) Line(b []byte, cut bool) bool {
	p.line++
	if p.line == 1 {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	}
	var r Record
	ok := false
	switch p.format {
	case FormatLogfmt:
		ok = p.logfmtLine(b, &r)
	case FormatWinPlugin:
		ok = p.winPluginLine(b, &r)
	case FormatWaAppAgent:
		ok = p.waAppAgentLine(b, &r)
	case FormatOSTC:
		ok = p.ostcLine(b, &r)
	}
	if ok {
		cont := p.Flush()
		r.Truncated = cut
		p.cur = r
		p.have = true
		return cont
	}
	return p.continuation(b, cut)
}

func (p *Assembler) continuation(b []byte, cut bool) bool {
	if p.have && !logscan.IsBinary(b) && p.format != FormatText {
		if !logscan.Fits(len(p.msg)+len(p.cur.Message), b, p.opt.MaxRecord) {
			p.cur.Truncated = true
			cont := p.Flush()
			p.startUnparsed(b, cut)
			return cont
		}
		if len(p.msg) > 0 {
			p.msg = append(p.msg, '\n')
		}
		p.msg = append(p.msg, b...)
		p.cur.Lines++
		if cut {
			p.cur.Truncated = true
		}
		return true
	}
	cont := p.Flush()
	p.startUnparsed(b, cut)
	return cont
}

func (p *Assembler) startUnparsed(b []byte, cut bool) {
	p.cur = newRecord(p.line, p.format)
	p.cur.Unparsed = true
	p.cur.Truncated = cut
	p.msg = append(p.msg[:0], b...)
	p.have = true
}

// finish fills what comes from the path and the message text.
func (p *Assembler) finish(r *Record) {
	if r.Handler == "" {
		r.Handler = p.hint.handler
	}
	if r.Version == "" {
		r.Version = p.hint.version
	}
	if r.Unparsed {
		return
	}
	switch p.format {
	case FormatWinPlugin, FormatWaAppAgent, FormatOSTC:
		classifyText(r)
	}
	if r.Format == FormatWinPlugin && r.Pid >= 0 {
		p.carry(r)
	}
	if r.Format == FormatOSTC {
		p.carryOSTC(r)
	}
}

// carry applies and updates what the process announced (operation,
// sequence number, extension name).
func (p *Assembler) carry(r *Record) {
	st := p.procs[r.Pid]
	if st == nil {
		if len(p.procs) >= maxProcs {
			p.procs = map[int64]*procState{}
		}
		st = &procState{seq: -1}
		p.procs[r.Pid] = st
	}
	if r.Operation != "" {
		st.op = r.Operation
	} else {
		r.Operation = st.op
	}
	if r.SeqNo >= 0 {
		st.seq = r.SeqNo
	} else {
		r.SeqNo = st.seq
	}
	if r.ExtensionName != "" {
		st.ext = r.ExtensionName
	} else {
		r.ExtensionName = st.ext
	}
}

// carryOSTC: an OSTC handler logs its operation at the start of a run.
func (p *Assembler) carryOSTC(r *Record) {
	if r.Event == EvStart {
		p.ostc = procState{seq: -1}
	}
	if r.Operation != "" {
		p.ostc.op = r.Operation
	} else {
		r.Operation = p.ostc.op
	}
	if r.SeqNo >= 0 {
		p.ostc.seq = r.SeqNo
	} else {
		r.SeqNo = p.ostc.seq
	}
}

func (p *Assembler) logfmtLine(b []byte, r *Record) bool {
	if !bytes.HasPrefix(b, []byte("time=")) {
		return false
	}
	keys, vals, ok := parseLogfmt(logscan.String(b))
	if !ok {
		return false
	}
	*r = newRecord(p.line, FormatLogfmt)
	p.logfmtRecord(r, keys, vals)
	return true
}

// winPluginLine: [4892+00000001] [03/04/2021 20:49:58.30] [INFO] msg
func (p *Assembler) winPluginLine(b []byte, r *Record) bool {
	if len(b) < 30 || b[0] != '[' {
		return false
	}
	i := 1
	pid, i, ok := digits(b, i)
	if !ok || i >= len(b) || b[i] != '+' {
		return false
	}
	tid, i, ok := digits(b, i+1)
	if !ok || !at(b, i, "] [") {
		return false
	}
	t, i, ok := p.mdyTime(b, i+3)
	if !ok || !at(b, i, "] ") {
		return false
	}
	lvl, i, ok := level(b, i+2)
	if !ok {
		return false
	}
	*r = newRecord(p.line, FormatWinPlugin)
	r.Pid, r.Tid, r.Time, r.Level = pid, tid, t, lvl
	r.Message = logscan.String(trimMsg(b[i:]))
	return true
}

// waAppAgentLine: [00000011] [12/11/2018 06:27:55.66] [WARN]  msg
// or [00000018] 2021-01-12T16:35:45Z [INFO]  msg, or without the thread
// ([07/11/2019 21:04:19.62] [INFO] msg, as Microsoft's troubleshooting
// pages show WaAppAgent.log): Tid is then NULL.
func (p *Assembler) waAppAgentLine(b []byte, r *Record) bool {
	if len(b) < 20 || b[0] != '[' {
		return false
	}
	tid, i, ok := digits(b, 1)
	switch {
	case ok && at(b, i, "] "):
		i += 2
	case ok && i < len(b) && b[i] == '/':
		tid, i = -1, 0 // [MM/DD/YYYY ...: no thread written
	default:
		return false
	}
	var t time.Time
	if i < len(b) && b[i] == '[' {
		t, i, ok = p.mdyTime(b, i+1)
		if !ok || !at(b, i, "] ") {
			return false
		}
		i += 2
	} else {
		t, i, ok = isoTime(b, i)
		if !ok || !at(b, i, " ") {
			return false
		}
		i++
	}
	lvl, i, ok := level(b, i)
	if !ok {
		return false
	}
	*r = newRecord(p.line, FormatWaAppAgent)
	r.Tid, r.Time, r.Level = tid, t, lvl
	r.Message = logscan.String(trimMsg(b[i:]))
	return true
}

// ostcLine: 2016/12/23 04:25:14 [Handler-1.4.6.0] msg, with optional
// WARNING:/ERROR: before the prefix.
func (p *Assembler) ostcLine(b []byte, r *Record) bool {
	t, i, ok := p.slashTime(b, 0)
	if !ok || !at(b, i, " ") {
		return false
	}
	i++
	*r = newRecord(p.line, FormatOSTC)
	r.Time = t
	// A level only when written: these loggers prefix warnings and errors
	// only, so a line without a prefix holds none (Level NULL).
	switch {
	case at(b, i, "WARNING:"):
		r.Level, i = "WARNING", i+8
	case at(b, i, "ERROR:"):
		r.Level, i = "ERROR", i+6
	}
	if i < len(b) && b[i] == '[' {
		if e := bytes.IndexByte(b[i:], ']'); e > 1 {
			h := b[i+1 : i+e]
			if d := bytes.LastIndexByte(h, '-'); d > 0 && d+1 < len(h) && isDigit(h[d+1]) {
				r.Handler, r.Version = logscan.String(h[:d]), logscan.String(h[d+1:])
			} else {
				r.Handler = logscan.String(h)
			}
			i += e + 1
			if i < len(b) && b[i] == ' ' {
				i++
			}
		}
	}
	r.Message = logscan.String(b[i:])
	return true
}

// mdyTime parses MM/DD/YYYY HH:MM:SS[.ff] at b[i:] in the parser's zone.
func (p *Assembler) mdyTime(b []byte, i int) (time.Time, int, bool) {
	mo, i, ok := numUpTo(b, i, 2)
	if !ok || !at(b, i, "/") {
		return time.Time{}, i, false
	}
	d, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, "/") {
		return time.Time{}, i, false
	}
	y, i, ok := numUpTo(b, i+1, 4)
	if !ok || !at(b, i, " ") {
		return time.Time{}, i, false
	}
	return p.clock(b, i+1, y, mo, d, p.opt.Loc)
}

// slashTime parses YYYY/MM/DD HH:MM:SS at b[i:] (local time, no fraction).
func (p *Assembler) slashTime(b []byte, i int) (time.Time, int, bool) {
	y, i, ok := numUpTo(b, i, 4)
	if !ok || y < 1000 || !at(b, i, "/") {
		return time.Time{}, i, false
	}
	mo, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, "/") {
		return time.Time{}, i, false
	}
	d, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, " ") {
		return time.Time{}, i, false
	}
	return p.clock(b, i+1, y, mo, d, p.opt.Loc)
}

// clock parses HH:MM:SS[.fff] and builds the time.
func (p *Assembler) clock(b []byte, i, y, mo, d int, loc *time.Location) (time.Time, int, bool) {
	h, i, ok := numUpTo(b, i, 2)
	if !ok || !at(b, i, ":") {
		return time.Time{}, i, false
	}
	mi, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, ":") {
		return time.Time{}, i, false
	}
	s, i, ok := numUpTo(b, i+1, 2)
	if !ok {
		return time.Time{}, i, false
	}
	ns := 0
	if i < len(b) && b[i] == '.' {
		ns, i = logscan.Fraction(b, i)
	}
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 {
		return time.Time{}, i, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, loc).UTC(), i, true
}

// isoTime parses YYYY-MM-DDTHH:MM:SS[.fff]Z at b[i:].
func isoTime(b []byte, i int) (time.Time, int, bool) {
	y, i, ok := numUpTo(b, i, 4)
	if !ok || y < 1000 || !at(b, i, "-") {
		return time.Time{}, i, false
	}
	mo, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, "-") {
		return time.Time{}, i, false
	}
	d, i, ok := numUpTo(b, i+1, 2)
	if !ok || !at(b, i, "T") {
		return time.Time{}, i, false
	}
	var p Assembler
	t, i, ok := p.clock(b, i+1, y, mo, d, time.UTC)
	if !ok || !at(b, i, "Z") {
		return time.Time{}, i, false
	}
	return t, i + 1, true
}

// level parses [LEVEL] at b[i:].
func level(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '[' {
		return "", i, false
	}
	e := bytes.IndexByte(b[i:], ']')
	if e < 2 || e > 12 {
		return "", i, false
	}
	for _, c := range b[i+1 : i+e] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", i, false
		}
	}
	return strings.ToUpper(string(b[i+1 : i+e])), i + e + 1, true
}

// trimMsg drops the one or two spaces between [LEVEL] and the message.
func trimMsg(b []byte) []byte {
	for n := 0; n < 2 && len(b) > 0 && b[0] == ' '; n++ {
		b = b[1:]
	}
	return b
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func at(b []byte, i int, s string) bool {
	return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}

// digits parses 1-18 digits at b[i:].
func digits(b []byte, i int) (int64, int, bool) {
	var v int64
	s := i
	for i < len(b) && isDigit(b[i]) && i-s < 18 {
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, i, i > s
}

// numUpTo parses 1..n digits at b[i:].
func numUpTo(b []byte, i, n int) (int, int, bool) {
	v, s := 0, i
	for i < len(b) && isDigit(b[i]) && i-s < n {
		v = v*10 + int(b[i]-'0')
		i++
	}
	return v, i, i > s
}
