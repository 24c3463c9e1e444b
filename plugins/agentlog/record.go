package agentlog

import (
	"bytes"
	"time"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/logscan"
)

// istr is an interned string with its value already boxed, so emitting
// it in a row costs no allocation.
type istr struct {
	s string
	v any
}

func newIstr(s string) *istr { return &istr{s: s, v: s} }

func (i *istr) val() any {
	if i == nil {
		return nil
	}
	return i.v
}

func (i *istr) str() string {
	if i == nil {
		return ""
	}
	return i.s
}

var (
	lvlInfo    = newIstr("INFO")
	lvlWarning = newIstr("WARNING")
	lvlError   = newIstr("ERROR")
	lvlVerbose = newIstr("VERBOSE")

	tagCGI       = newIstr("CGI")
	tagCGW       = newIstr("CGW")
	tagPeriodic  = newIstr("PERIODIC")
	tagHeartbeat = newIstr("HEARTBEAT")

	eraVals [len(eraNames)]any
)

func init() {
	for i, n := range eraNames {
		if n != "" {
			eraVals[i] = n
		}
	}
}

// interner maps byte strings to shared *istr without allocating on a hit.
// Misses beyond its bounds allocate a fresh *istr. recent holds the last
// string seen per (length, first and last byte): a log repeats a few
// threads, prefixes and handlers, and comparing with the last one costs
// less than hashing for the map (which cost a tenth of a record).
type interner struct {
	m      map[string]*istr
	recent [64]*istr
}

// The interner keeps at most maxInterned strings of at most maxInternedLen
// bytes: bounded memory whatever the input (hostile handler names, hosts).
const (
	maxInterned    = 4096
	maxInternedLen = 256
)

func newInterner() *interner { return &interner{m: make(map[string]*istr, 64)} }

func (in *interner) get(b []byte) *istr {
	if len(b) == 0 {
		return nil
	}
	slot := &in.recent[(uint(len(b))*5+uint(b[0])+uint(b[len(b)-1])*3)%uint(len(in.recent))]
	if s := *slot; s != nil && s.s == string(b) {
		return s
	}
	if len(b) > maxInternedLen { // neither kept nor remembered: the bound holds for the slots too
		return newIstr(string(b))
	}
	s, ok := in.m[string(b)]
	if !ok {
		s = newIstr(string(b))
		if len(in.m) < maxInterned {
			in.m[s.s] = s
		}
	}
	*slot = s
	return s
}

// Record is one log record: a first line and its continuation lines.
// Msg and the byte views are only valid during the callback.
type Record struct {
	Line           int64 // 1-based line of the first line
	Time           time.Time
	Level          *istr
	Thread         *istr
	Tag            *istr
	Handler        *istr
	HandlerVersion *istr
	ExtensionName  *istr
	Host           *istr
	Pid            int64 // -1: none
	era            uint8
	Unparsed       bool
	Truncated      bool // a line was cut at the line cap or the record at the record cap
	Lines          int  // number of lines in the record
	Msg            []byte
}

// Era is the name of the format the record's first line matched ("" for
// unparsed lines).
func (r *Record) Era() string { return eraNames[r.era] }

// Options tune the assembler.
type Options struct {
	Loc       *time.Location // zone of local-time eras and BSD syslog stamps (nil: UTC)
	MaxLine   int            // longest line kept; longer lines are cut (default 1 MiB)
	MaxRecord int            // largest record; beyond it continuation lines start a new row (default 1 MiB)
	// YearHint/MonthHint date syslog lines that carry no year before any
	// agent timestamp was seen (the file's mtime).
	YearHint, MonthHint int
}

// Assembler turns lines into records. Feed lines with Line, finish with
// Flush. emit returns false to stop (query cancelled).
type Assembler struct {
	opt  Options
	z    zoneCache
	in   *interner
	emit func(*Record) bool

	line    int64
	cur     Record
	have    bool
	ident   *istr // syslog ident of the current record ("python3[1103]")
	buf     []byte
	yearH   int
	monthH  int
	hintEnd bool // yearH/monthH come from the file's mtime, not from a line

	// inCmdOutput: the current record is a "Command: ..." record whose
	// [stdout]/[stderr] section has started. The agent writes it in one
	// piece, so lines in an older format inside it (OSTC handlers print
	// their own "YYYY/MM/DD HH:MM:SS ..." log lines) are its output.
	inCmdOutput bool

	h header
	s syslogHdr

	prefixes [16]handlerParts // see handler
}

// NewAssembler returns an assembler that calls emit for every record.
func NewAssembler(opt Options, emit func(*Record) bool) *Assembler {
	if opt.Loc == nil {
		opt.Loc = time.UTC
	}
	opt.MaxLine, opt.MaxRecord = logscan.Caps(opt.MaxLine, opt.MaxRecord)
	a := &Assembler{opt: opt, in: newInterner(), emit: emit,
		yearH: opt.YearHint, monthH: opt.MonthHint, hintEnd: true}
	a.z.loc = opt.Loc
	a.buf = make([]byte, 0, 4096)
	return a
}

// Lines is the number of lines fed so far.
func (a *Assembler) Lines() int64 { return a.line }

// Flush emits the record being assembled.
func (a *Assembler) Flush() bool {
	if !a.have {
		return true
	}
	a.have = false
	a.cur.Msg = a.buf
	return a.emit(&a.cur)
}

// Line feeds one line (without its line ending). cut says the reader
// truncated it at the line cap.
func (a *Assembler) Line(b []byte, cut bool) bool {
	a.line++
	h := &a.h
	if parseAgent(b, h) {
		if a.inCmdOutput && a.outputLine(h) {
			return a.appendLine(b, cut)
		}
		ok := a.Flush()
		a.start(h)
		a.cur.Truncated = cut
		return ok
	}
	if len(b) >= 16 && (isDigit(b[0]) || (b[0] >= 'A' && b[0] <= 'S')) {
		s := &a.s
		if parseSyslog(b, s) {
			return a.syslogLine(s, cut)
		}
	}
	return a.continuation(b, cut)
}

func (a *Assembler) syslogLine(s *syslogHdr, cut bool) bool {
	h := &a.h
	host := a.in.get(s.host)
	ident := a.in.get(s.ident)
	if parseAgent(s.payload, h) {
		if a.inCmdOutput && a.outputLine(h) && a.cur.Host.str() == host.str() && a.ident.str() == ident.str() {
			return a.appendLine(s.payload, cut)
		}
		ok := a.Flush()
		a.start(h)
		a.cur.Host, a.cur.Pid, a.ident = host, s.pid, ident
		a.cur.Truncated = cut
		return ok
	}
	// A line of a multi-line agent record, logged line by line.
	if a.have && a.cur.era != eraSyslog && a.cur.era != eraNone && a.cur.Host.str() == host.str() && a.ident.str() == ident.str() {
		return a.appendLine(s.payload, cut)
	}
	ok := a.Flush()
	a.cur = Record{Line: a.line, Host: host, Pid: s.pid, era: eraSyslog, Lines: 1, Truncated: cut}
	a.ident, a.inCmdOutput = ident, false
	c := s.date
	if s.rfc3339 {
		a.cur.Time = a.z.utc(&c)
	} else {
		c.year = a.syslogYear(c.month)
		a.cur.Time = a.z.local(&c)
	}
	a.buf = append(a.buf[:0], s.tagged...)
	a.have = true
	return ok
}

// syslogYear dates a BSD syslog month. Logs are chronological: the year
// is that of the latest dated line (an agent timestamp carries its year),
// plus one when the month goes backwards (New Year). Before any dated
// line the file's mtime (the end of the file) is the reference: a month
// after the mtime's month belongs to the year before.
func (a *Assembler) syslogYear(m int) int {
	y := a.yearH
	if a.hintEnd || y == 0 {
		if y == 0 {
			now := time.Now().In(a.opt.Loc)
			y, a.monthH = now.Year(), int(now.Month())
		}
		if m > a.monthH {
			y--
		}
	} else if m < a.monthH {
		y++
	}
	a.yearH, a.monthH, a.hintEnd = y, m, false
	return y
}

// outputLine: inside command output, a line of an older format than the
// record's own (a 2.0 line in any later era, a 2.2.x line in an ISO era)
// is output, not a new record.
func (a *Assembler) outputLine(h *header) bool {
	switch a.cur.era {
	case era22:
		return h.era == era20
	case era2246, era2247:
		return h.era == era20 || h.era == era22
	}
	return false
}

func (a *Assembler) continuation(b []byte, cut bool) bool {
	if a.have && !logscan.IsBinary(b) {
		return a.appendLine(b, cut)
	}
	ok := a.Flush()
	a.startUnparsed(b, cut)
	return ok
}

func (a *Assembler) startUnparsed(b []byte, cut bool) {
	a.cur = Record{Line: a.line, Pid: -1, Unparsed: true, Lines: 1, Truncated: cut}
	a.ident, a.inCmdOutput = nil, false
	a.buf = append(a.buf[:0], b...)
	a.have = true
}

func (a *Assembler) appendLine(b []byte, cut bool) bool {
	if !logscan.Fits(len(a.buf), b, a.opt.MaxRecord) {
		// Bound memory: the record is emitted as it is and this line
		// starts an unparsed row of its own; nothing is dropped.
		a.cur.Truncated = true
		ok := a.Flush()
		a.startUnparsed(b, cut)
		return ok
	}
	a.buf = append(a.buf, '\n')
	a.buf = append(a.buf, b...)
	a.cur.Lines++
	if !a.inCmdOutput && (string(b) == "[stdout]" || string(b) == "[stderr]") && bytes.HasPrefix(a.buf, []byte("Command: ")) {
		a.inCmdOutput = true
	}
	if cut {
		a.cur.Truncated = true
	}
	return true
}

func (a *Assembler) start(h *header) {
	r := &a.cur
	*r = Record{Line: a.line, Pid: -1, era: h.era, Level: h.level, Lines: 1}
	a.ident, a.inCmdOutput = nil, false
	if h.local {
		r.Time = a.z.local(&h.date)
	} else {
		r.Time = a.z.utc(&h.date)
	}
	if c := &h.date; !h.local && c.offset == 0 && c.day <= 28 && c.sec < 60 {
		// The date as written is the UTC time's (nothing rolls over):
		// Year and Month cost a calendar computation per record.
		a.yearH, a.monthH = c.year, c.month
	} else {
		a.yearH, a.monthH = r.Time.Year(), int(r.Time.Month())
	}
	a.hintEnd = false
	r.Thread = a.in.get(h.thread)
	if p := h.prefix; len(p) > 0 {
		if p[0] == '[' {
			a.handler(p[1 : len(p)-1])
		} else {
			r.Tag = a.in.get(p)
		}
	}
	msg := h.msg
	if len(msg) > 4 && msg[0] == '[' {
		switch {
		case bytes.HasPrefix(msg, []byte("[CGI]")):
			r.Tag = tagCGI
		case bytes.HasPrefix(msg, []byte("[CGW]")):
			r.Tag = tagCGW
		case bytes.HasPrefix(msg, []byte("[PERIODIC]")):
			r.Tag = tagPeriodic
		case bytes.HasPrefix(msg, []byte("[HEARTBEAT]")):
			r.Tag = tagHeartbeat
		}
	}
	a.buf = append(a.buf[:0], msg...)
	a.have = true
}

// multiConfigHandlers are the handlers that support several extensions
// (multi-config): their log prefix is [<Handler>.<extName>-<version>].
var multiConfigHandlers = catalog.MultiConfigNames()

// handlerParts are the Handler, HandlerVersion and ExtensionName of a
// prefix.
type handlerParts struct {
	prefix                string
	handler, version, ext *istr
}

// handler sets the record's handler columns of the prefix
// "Publisher.Type[.extName]-version", remembered per prefix in a few
// slots (a log interleaves the records of a few handlers).
func (a *Assembler) handler(p []byte) {
	// The slot of a prefix: its length and last bytes (where
	// multi-config extensions' names and versions differ).
	h := uint(len(p))
	for _, c := range p[max(0, len(p)-12):] {
		h = h*31 + uint(c)
	}
	slot := &a.prefixes[h%uint(len(a.prefixes))]
	if slot.prefix != string(p) || slot.handler == nil {
		a.splitHandler(p)
		if len(p) <= maxInternedLen { // a longer prefix is not remembered (bounded memory)
			r := &a.cur
			*slot = handlerParts{string(p), r.Handler, r.HandlerVersion, r.ExtensionName} // not interned: the parts are
		}
		return
	}
	a.cur.Handler, a.cur.HandlerVersion, a.cur.ExtensionName = slot.handler, slot.version, slot.ext
}

// splitHandler splits "Publisher.Type[.extName]-version".
func (a *Assembler) splitHandler(p []byte) {
	r := &a.cur
	d := bytes.LastIndexByte(p, '-')
	name := p
	if d > 0 {
		name = p[:d]
		r.HandlerVersion = a.in.get(p[d+1:])
	}
	for _, mc := range multiConfigHandlers {
		if len(name) > len(mc)+1 && name[len(mc)] == '.' && string(name[:len(mc)]) == mc {
			r.Handler = a.in.get(name[:len(mc)])
			r.ExtensionName = a.in.get(name[len(mc)+1:])
			return
		}
	}
	r.Handler = a.in.get(name)
}
