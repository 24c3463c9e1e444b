package agentlog

import (
	"bytes"
	"time"

	"github.com/azvql/azvql/plugins/logscan"
)

// Era names a line format (docs/formats.md §1.11). They are the values of the
// Era column.
const (
	Era20     = "2.0"          // YYYY/MM/DD HH:MM:SS local, no fraction, WARNING:/ERROR: prefix
	Era22     = "2.2.0-2.2.45" // YYYY/MM/DD HH:MM:SS.ffffff local, LEVEL [prefix]
	Era2246   = "2.2.46"       // ISO UTC, LEVEL prefix (no thread)
	Era2247   = "2.2.47+"      // ISO UTC, LEVEL thread prefix
	EraSyslog = "syslog"       // a syslog/journal line that is not an agent line
)

const (
	eraNone uint8 = iota
	era20
	era22
	era2246
	era2247
	eraSyslog
)

var eraNames = [...]string{"", Era20, Era22, Era2246, Era2247, EraSyslog}

// header is what the first line of a record says. Byte slices point into
// the line being parsed.
type header struct {
	era    uint8
	local  bool // the timestamp is local time (to be converted with tz)
	date   civil
	level  *istr
	thread []byte
	prefix []byte // Daemon, ExtHandler, ... or [Handler-version]
	msg    []byte
}

// civil is a timestamp as written, before any zone is applied.
type civil struct {
	year, month, day, hour, min, sec, nsec int
	offset                                 int  // seconds east of UTC when explicit
	hasOffset                              bool // an explicit zone (Z or ±hh:mm) was written
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num parses n digits at b[i:]; ok is false unless all are digits.
func num(b []byte, i, n int) (int, bool) {
	if i+n > len(b) {
		return 0, false
	}
	v := 0
	for k := i; k < i+n; k++ {
		c := b[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func validCivil(c *civil) bool {
	return c.month >= 1 && c.month <= 12 && c.day >= 1 && c.day <= 31 &&
		c.hour <= 23 && c.min <= 59 && c.sec <= 60
}

// parseSlashTime parses "YYYY/MM/DD HH:MM:SS[.ffffff]" (seconds may be one
// digit: some extension loggers wrote "20:50:1"). It returns the index
// after the timestamp.
func parseSlashTime(b []byte, c *civil) (int, bool) {
	if len(b) < 18 || b[4] != '/' || b[7] != '/' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	var ok1, ok2, ok3, ok4, ok5 bool
	c.year, ok1 = num(b, 0, 4)
	c.month, ok2 = num(b, 5, 2)
	c.day, ok3 = num(b, 8, 2)
	c.hour, ok4 = num(b, 11, 2)
	c.min, ok5 = num(b, 14, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return 0, false
	}
	i := 17
	if !isDigit(b[i]) {
		return 0, false
	}
	c.sec = int(b[i] - '0')
	i++
	if i < len(b) && isDigit(b[i]) {
		c.sec = c.sec*10 + int(b[i]-'0')
		i++
	}
	c.nsec = 0
	if i < len(b) && b[i] == '.' {
		c.nsec, i = logscan.Fraction(b, i)
	}
	c.hasOffset = false
	return i, validCivil(c)
}

// parseISOTime parses "YYYY-MM-DDTHH:MM:SS[.f][Z|±hh:mm|±hhmm]" and
// returns the index after it.
func parseISOTime(b []byte, c *civil) (int, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	var ok1, ok2, ok3, ok4, ok5, ok6 bool
	c.year, ok1 = num(b, 0, 4)
	c.month, ok2 = num(b, 5, 2)
	c.day, ok3 = num(b, 8, 2)
	c.hour, ok4 = num(b, 11, 2)
	c.min, ok5 = num(b, 14, 2)
	c.sec, ok6 = num(b, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	i := 19
	c.nsec = 0
	if i < len(b) && b[i] == '.' {
		c.nsec, i = logscan.Fraction(b, i)
	}
	c.hasOffset, c.offset = false, 0
	if i < len(b) {
		switch b[i] {
		case 'Z':
			c.hasOffset = true
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			hh, ok := num(b, i+1, 2)
			if !ok {
				break
			}
			j := i + 3
			if j < len(b) && b[j] == ':' {
				j++
			}
			mm, ok := num(b, j, 2)
			if !ok {
				break
			}
			c.hasOffset = true
			c.offset = sign * (hh*3600 + mm*60)
			i = j + 2
		}
	}
	return i, validCivil(c)
}

// token returns the next space-delimited token of b and the rest after
// one space.
func token(b []byte) (tok, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

// parseLevel recognises the agent's level names.
func parseLevel(t []byte) *istr {
	switch len(t) {
	case 4:
		if string(t) == "INFO" {
			return lvlInfo
		}
	case 5:
		if string(t) == "ERROR" {
			return lvlError
		}
	case 7:
		switch string(t) {
		case "WARNING":
			return lvlWarning
		case "VERBOSE":
			return lvlVerbose
		}
	}
	return nil
}

// isPrefixWord: the named log prefixes of agents >= 2.2.31.
func isPrefixWord(t []byte) bool {
	switch string(t) {
	case "Daemon", "ExtHandler", "LogCollector", "Firewall":
		return true
	}
	return false
}

// isHandlerBracket: "[Publisher.Type-1.2.3]" or "[Publisher.Type.extName-1.2.3]".
func isHandlerBracket(t []byte) bool {
	n := len(t)
	if n < 5 || t[0] != '[' || t[n-1] != ']' {
		return false
	}
	d := bytes.LastIndexByte(t, '-')
	if d < 2 || d+1 >= n-1 || !isDigit(t[d+1]) {
		return false
	}
	for _, c := range t[d+1 : n-1] {
		if !isDigit(c) && c != '.' {
			return false
		}
	}
	return true
}

func isPrefixToken(t []byte) bool { return isPrefixWord(t) || isHandlerBracket(t) }

// isThreadLike: a Python thread name as the agent logs it (MainThread,
// MonitorHandler, Thread-12, ...).
func isThreadLike(t []byte) bool {
	if len(t) == 0 || len(t) > 64 {
		return false
	}
	c := t[0]
	if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
		return false
	}
	for _, c := range t {
		if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isKnownThread: thread names that never are prefixes, so a line with one
// of them and no prefix is still >= 2.2.47.
func isKnownThread(t []byte) bool {
	switch string(t) {
	case "MainThread", "MonitorHandler", "EnvHandler", "CollectLogsHandler",
		"LogCollectorMonitorHandler", "TelemetryEventsCollector", "SendTelemetryHandler":
		return true
	}
	return len(t) > 7 && string(t[:7]) == "Thread-"
}

// splitThreadPrefix splits what follows the level: [thread] [prefix] msg.
// threaded reports a thread was found (the >= 2.2.47 shape).
func splitThreadPrefix(rest []byte, h *header) (threaded bool) {
	t1, after1 := token(rest)
	if isPrefixToken(t1) {
		if isPrefixWord(t1) && after1 != nil {
			t2, after2 := token(after1)
			if isPrefixToken(t2) {
				h.thread, h.prefix, h.msg = t1, t2, after2
				return true
			}
		}
		h.prefix, h.msg = t1, after1
		return false
	}
	if after1 != nil && isThreadLike(t1) {
		t2, after2 := token(after1)
		if isPrefixToken(t2) {
			h.thread, h.prefix, h.msg = t1, t2, after2
			return true
		}
		if isKnownThread(t1) {
			h.thread, h.msg = t1, after1
			return true
		}
	}
	h.msg = rest
	return false
}

// parseAgent parses the first line of an agent record. ok is false when
// the line is not one (a continuation line, or another format).
func parseAgent(b []byte, h *header) bool {
	if len(b) < 19 || !isDigit(b[0]) {
		return false
	}
	*h = header{}
	switch b[4] {
	case '/':
		i, ok := parseSlashTime(b, &h.date)
		if !ok {
			return false
		}
		h.local = true
		if i == len(b) {
			h.era = era20 // no level written: Level stays NULL
			return true
		}
		if b[i] != ' ' {
			return false
		}
		rest := b[i+1:]
		if i > 19 || (i == 19 && b[18] == '.') { // a fraction was written
			lv, after := token(rest)
			if l := parseLevel(lv); l != nil && after != nil {
				h.era, h.level = era22, l
				splitThreadPrefix(after, h)
				return true
			}
		}
		h.era = era20
		parse20(rest, h)
		return true
	case '-':
		i, ok := parseISOTime(b, &h.date)
		if !ok || !h.date.hasOffset || h.date.offset != 0 || b[i-1] != 'Z' || i >= len(b) || b[i] != ' ' {
			return false
		}
		lv, after := token(b[i+1:])
		l := parseLevel(lv)
		if l == nil || after == nil {
			return false
		}
		h.level = l
		if splitThreadPrefix(after, h) {
			h.era = era2247
		} else {
			h.era = era2246
		}
		return true
	}
	return false
}

// parse20 handles the waagent 2.0 / OSTC shape after the timestamp:
// [WARNING:|ERROR:|VERBOSE:|INFO:][[Handler-ver] ]msg. The 2.0 logger
// writes a prefix only for warnings and errors; a line without one holds
// no level, so Level stays NULL rather than an assumed INFO.
func parse20(rest []byte, h *header) {
	if c := bytes.IndexByte(rest, ':'); c >= 4 && c <= 7 {
		if l := parseLevel(rest[:c]); l != nil {
			h.level = l
			rest = rest[c+1:]
			if len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
		}
	}
	if len(rest) > 0 && rest[0] == '[' {
		if e := bytes.IndexByte(rest, ']'); e > 0 && isHandlerBracket(rest[:e+1]) {
			h.prefix = rest[:e+1]
			rest = rest[e+1:]
			if len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
		}
	}
	h.msg = rest
}

// syslogHdr is a syslog / journal line: "<time> host ident[pid]: payload".
type syslogHdr struct {
	date    civil
	rfc3339 bool // the timestamp carried its year and zone
	host    []byte
	ident   []byte // "python3[1103]" or "kernel"
	pid     int64  // -1 when absent
	payload []byte
	tagged  []byte // from ident to the end: the message of a non-agent row
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseSyslog parses a syslog header (RFC 3339 or BSD time stamp, host,
// ident[pid], colon) into s. It is long because it is one left-to-right
// pass run on every line of a log: one function keeps the index
// arithmetic of the fields in view and costs no calls.
func parseSyslog(b []byte, s *syslogHdr) bool {
	if len(b) < 16 {
		return false
	}
	i := 0
	s.rfc3339 = false
	if isDigit(b[0]) {
		j, ok := parseISOTime(b, &s.date)
		if !ok || !s.date.hasOffset {
			return false
		}
		s.rfc3339 = true
		i = j
	} else {
		m := 0
		for k, name := range months {
			if b[0] == name[0] && b[1] == name[1] && b[2] == name[2] {
				m = k + 1
				break
			}
		}
		if m == 0 || b[3] != ' ' {
			return false
		}
		c := &s.date
		*c = civil{month: m}
		d1, d2 := b[4], b[5]
		switch {
		case d1 == ' ' && isDigit(d2):
			c.day = int(d2 - '0')
		case isDigit(d1) && isDigit(d2):
			c.day = int(d1-'0')*10 + int(d2-'0')
		default:
			return false
		}
		if b[6] != ' ' || b[9] != ':' || b[12] != ':' {
			return false
		}
		var ok1, ok2, ok3 bool
		c.hour, ok1 = num(b, 7, 2)
		c.min, ok2 = num(b, 10, 2)
		c.sec, ok3 = num(b, 13, 2)
		if !(ok1 && ok2 && ok3) || !validCivil(c) {
			return false
		}
		i = 15
		if i < len(b) && b[i] == '.' {
			c.nsec, i = logscan.Fraction(b, i)
		}
	}
	if i >= len(b) || b[i] != ' ' {
		return false
	}
	rest := b[i+1:]
	host, rest := token(rest)
	if len(host) == 0 || rest == nil {
		return false
	}
	// ident[pid]: or ident:
	tagged := rest
	e := bytes.IndexByte(rest, ':')
	if e <= 0 || e > 128 {
		return false
	}
	ident := rest[:e]
	if bytes.IndexByte(ident, ' ') >= 0 {
		return false
	}
	s.pid = -1
	if ident[len(ident)-1] == ']' {
		o := bytes.IndexByte(ident, '[')
		if o <= 0 {
			return false
		}
		p := int64(0)
		for _, c := range ident[o+1 : len(ident)-1] {
			if !isDigit(c) || p > 1<<40 {
				return false
			}
			p = p*10 + int64(c-'0')
		}
		s.pid = p
	}
	payload := rest[e+1:]
	if len(payload) > 0 && payload[0] == ' ' {
		payload = payload[1:]
	}
	s.host, s.ident, s.payload, s.tagged = host, ident, payload, tagged
	return true
}

// zoneCache converts local civil times to UTC with few tz lookups: the
// conversion of the last (date, hour, minute) is reused (zone transitions
// fall on minute boundaries).
type zoneCache struct {
	loc                     *time.Location
	y, m, d, h, mi          int
	base                    time.Time // y-m-d h:mi:00 in loc
	valid                   bool
	utcY, utcM, utcD, utcOk int
	utcBase                 time.Time
}

func (z *zoneCache) local(c *civil) time.Time {
	if z.loc == time.UTC {
		return z.utc(c)
	}
	if !z.valid || c.min != z.mi || c.hour != z.h || c.day != z.d || c.month != z.m || c.year != z.y {
		z.base = time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, 0, 0, z.loc)
		z.y, z.m, z.d, z.h, z.mi, z.valid = c.year, c.month, c.day, c.hour, c.min, true
	}
	return z.base.Add(time.Duration(c.sec)*time.Second + time.Duration(c.nsec)).UTC()
}

func (z *zoneCache) utc(c *civil) time.Time {
	if z.utcOk == 0 || c.day != z.utcD || c.month != z.utcM || c.year != z.utcY {
		z.utcBase = time.Date(c.year, time.Month(c.month), c.day, 0, 0, 0, 0, time.UTC)
		z.utcY, z.utcM, z.utcD, z.utcOk = c.year, c.month, c.day, 1
	}
	return z.utcBase.Add(time.Duration(c.hour)*time.Hour + time.Duration(c.min)*time.Minute +
		time.Duration(c.sec)*time.Second + time.Duration(c.nsec) - time.Duration(c.offset)*time.Second)
}
