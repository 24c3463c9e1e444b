package agentlog

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
)

// Event vocabulary: a record's Event is the first rule whose message
// prefix matches the message (after any [CGI]/[CGW]/[PERIODIC]/[HEARTBEAT]
// tag). The texts are the agent's own (WALinuxAgent ga/exthandlers.py and
// older releases; docs/formats.md §1.11). docs/plugins-agentlog.md lists them.
const (
	EvExecuting        = "Executing"
	EvCommand          = "Command"
	EvEnable           = "EnableExtension"
	EvInstall          = "Install"
	EvUninstall        = "Uninstall"
	EvDisable          = "Disable"
	EvUpdate           = "Update"
	EvUpdateSettings   = "UpdateSettings"
	EvDownload         = "DownloadExtension"
	EvInitialize       = "InitializeExtension"
	EvRemoveHandlerDir = "RemoveHandlerDir"
	EvRemoveState      = "RemoveStateFiles"
	EvHandlerState     = "HandlerState"
	EvGoalState        = "GoalState"
	EvStartedScope     = "StartedScope"
	EvPlaceholder      = "PlaceholderStatus"
	EvOperationResult  = "OperationResult"
	EvAgentVersion     = "AgentVersion"
)

type eventRule struct {
	prefix string
	event  *istr
}

// EventRules is the vocabulary in match order (exported for the docs test).
var EventRules = []struct{ Prefix, Event string }{
	{"Executing command:", EvExecuting},
	{"Launch command:", EvExecuting}, // agents < 2.2.4x
	{"Command: ", EvCommand},
	{"Enable extension", EvEnable}, // "Enable extension: [cmd]", older "Enable extension [cmd]"
	{"Install extension", EvInstall},
	{"Uninstall extension", EvUninstall},
	{"Disable extension", EvDisable},
	{"Update extension", EvUpdate},
	{"Update settings file:", EvUpdateSettings},
	{"Download extension package", EvDownload},
	{"Downloading extension package", EvDownload},
	{"Using existing extension package", EvDownload},
	{"Unzipping extension package", EvDownload},
	{"Unpack extension package", EvDownload},
	{"Initializing extension", EvInitialize},
	{"Initialize extension directory", EvInitialize},
	{"Remove extension handler directory:", EvRemoveHandlerDir},
	{"Removing states files for disabled extension:", EvRemoveState},
	{"Target handler state:", EvHandlerState},
	{"Expected handler state:", EvHandlerState},
	{"Requested extension state:", EvHandlerState},
	{"Current handler state is:", EvHandlerState},
	{"[Enable] current handler state is:", EvHandlerState},
	{"[Disable] current handler state is:", EvHandlerState},
	{"[Uninstall] current handler state is:", EvHandlerState},
	{"ProcessExtensionsGoalState", EvGoalState},
	{"ProcessGoalState", EvGoalState},
	{"Fetched new vmSettings", EvGoalState},
	{"Fetched a new incarnation for the WireServer goal state", EvGoalState},
	{"Handle extensions updates for incarnation", EvGoalState},
	{"Started extension in unit", EvStartedScope},
	{"Started extension using scope", EvStartedScope},
	{"Creating a placeholder status file", EvPlaceholder},
	{"Event: name=", EvOperationResult}, // agents < 2.2.4x: "Event: name=X, op=Enable, message=Launch command succeeded: ..."
	{"Azure Linux Agent Version", EvAgentVersion},
	{"Azure Linux Agent (Goal State Agent version", EvAgentVersion},
}

// rulesByByte indexes the rules by the first byte of their prefix.
var rulesByByte [256][]eventRule

func init() {
	boxed := map[string]*istr{}
	for _, r := range EventRules {
		e := boxed[r.Event]
		if e == nil {
			e = newIstr(r.Event)
			boxed[r.Event] = e
		}
		c := r.Prefix[0]
		rulesByByte[c] = append(rulesByByte[c], eventRule{r.Prefix, e})
	}
}

// stripTags skips leading [CGI] / [CGW] / [PERIODIC] / [HEARTBEAT] tags.
func stripTags(m []byte) []byte {
	for len(m) > 0 && m[0] == '[' {
		switch {
		case bytes.HasPrefix(m, []byte("[CGI] ")), bytes.HasPrefix(m, []byte("[CGW] ")):
			m = m[6:]
		case bytes.HasPrefix(m, []byte("[PERIODIC] ")):
			m = m[11:]
		case bytes.HasPrefix(m, []byte("[HEARTBEAT] ")):
			m = m[12:]
		default:
			return m
		}
	}
	return m
}

// classify returns the Event of a message.
func classify(m []byte) *istr {
	m = stripTags(m)
	if len(m) == 0 {
		return nil
	}
	for _, r := range rulesByByte[m[0]] {
		if len(m) >= len(r.prefix) && string(m[:len(r.prefix)]) == r.prefix {
			return r.event
		}
	}
	return nil
}

var (
	envMarker = []byte(" with environment variables: ")
	settings  = []byte(".settings")
	seqKeys   = [2][]byte{[]byte("seqNo"), []byte("sequence number")} // in the order they are tried; both start "seq"
)

// envJSON is the JSON dict of an "Executing command: ... with
// environment variables: {...}" message (nil when there is none).
func envJSON(m []byte) []byte {
	i := bytes.Index(m, envMarker)
	if i < 0 {
		return nil
	}
	j := bytes.IndexByte(m[i:], '{')
	if j < 0 {
		return nil
	}
	js := m[i+j:]
	if nl := bytes.IndexByte(js, '\n'); nl >= 0 {
		js = js[:nl]
	}
	return bytes.TrimRight(js, " \r\t")
}

// parseEnv reads the JSON dict of an Executing message; its strings
// through c (nil: none).
func parseEnv(m []byte, c *strCache) *ordereddict.Dict {
	js := envJSON(m)
	if js == nil {
		return nil
	}
	if d := parseFlatJSON(js, c); d != nil {
		return d
	}
	d := ordereddict.NewDict()
	if err := d.UnmarshalJSON(js); err != nil {
		return nil
	}
	return d
}

// envFacts are what Row reads of an Executing record's env dict:
// ConfigExtensionName (a non-empty string) and ConfigSequenceNumber (a
// number, or a string that parses as one).
type envFacts struct {
	ext    string
	seq    int64
	hasSeq bool
}

// factsOf reads the facts of a parsed env dict (nil: none).
func factsOf(env *ordereddict.Dict) envFacts {
	var f envFacts
	if env == nil {
		return f
	}
	if v, ok := env.GetString("ConfigExtensionName"); ok {
		f.ext = v
	}
	if v, ok := env.Get("ConfigSequenceNumber"); ok {
		switch t := v.(type) {
		case string:
			if n, err := strconv.ParseInt(t, 10, 64); err == nil {
				f.seq, f.hasSeq = n, true
			}
		case int64:
			f.seq, f.hasSeq = t, true
		case float64:
			f.seq, f.hasSeq = int64(t), true
		}
	}
	return f
}

// envFactsOf is factsOf(parseEnv(m)) without building the dict when the
// env is flat (every value a string: the agent's own): the last value
// of each key wins, as in the dict Set builds.
func envFactsOf(m []byte) envFacts {
	js := envJSON(m)
	if js == nil {
		return envFacts{}
	}
	var ext, seq jsonStr
	var hasExt, hasSeq bool
	if flatJSON(js, func(k, v jsonStr) {
		switch {
		case k.is("ConfigExtensionName"):
			ext, hasExt = v, true
		case k.is("ConfigSequenceNumber"):
			seq, hasSeq = v, true
		}
	}) {
		var f envFacts
		if hasExt {
			f.ext = ext.String()
		}
		if hasSeq {
			if n, err := strconv.ParseInt(seq.String(), 10, 64); err == nil {
				f.seq, f.hasSeq = n, true
			}
		}
		return f
	}
	return factsOf(parseEnv(m, nil))
}

// parseFlatJSON parses a JSON object whose values are all strings (the
// agent's environment dict) without a general decoder; nil for anything
// else (the caller falls back to one).
func parseFlatJSON(b []byte, c *strCache) *ordereddict.Dict {
	d := ordereddict.NewDict()
	if !flatJSON(b, func(k, v jsonStr) { d.Set(k.str(c), v.str(c)) }) {
		return nil
	}
	return d
}

// flatJSON calls fn for every key and value, in order, of a JSON object
// whose values are all strings; false for anything else (fn may have
// been called for the pairs before the fault).
func flatJSON(b []byte, fn func(k, v jsonStr)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		k, j, ok := jsonSpan(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		v, j, ok := jsonSpan(b, skipWS(b, i+1))
		if !ok {
			return false
		}
		fn(k, v)
		i = skipWS(b, j)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return skipWS(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonStr is a JSON string as written, quotes included, already
// checked to decode; esc: it holds an escape or a byte >= 0x80, so its
// value is the decoder's (escapes resolved, invalid UTF-8 as U+FFFD),
// computed only when it is read.
type jsonStr struct {
	quoted []byte
	esc    bool
}

func (v jsonStr) raw() []byte { return v.quoted[1 : len(v.quoted)-1] }

func (v jsonStr) String() string {
	if !v.esc {
		return string(v.raw())
	}
	return string(unquote(nil, v.raw()))
}

// str is String through the string cache c (nil: none).
func (v jsonStr) str(c *strCache) string {
	if c == nil {
		return v.String()
	}
	if !v.esc {
		return c.get(v.raw())
	}
	var buf [256]byte
	return c.get(unquote(buf[:0], v.raw()))
}

// unquote appends the value of the checked JSON string body b (see
// jsonSpan) as encoding/json decodes it: escapes resolved, a UTF-16
// surrogate pair as its rune and a lone surrogate as U+FFFD, each byte
// of invalid UTF-8 as U+FFFD (FuzzFlatJSON compares it with the
// decoder).
func unquote(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\\':
			switch b[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(b[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
						r2 = hex4(b[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // " \ /
				dst = append(dst, b[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, b[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// hex4 is the value of four hex digits (checked by jsonSpan).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// strCache shares the strings an agent log repeats in every Executing
// record's environment (its keys, the handler's path and version):
// bounded, as the interner.
type strCache struct{ m map[string]string }

func (c *strCache) get(b []byte) string {
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) <= maxInternedLen && len(c.m) < maxInterned {
		if c.m == nil {
			c.m = make(map[string]string, 32)
		}
		c.m[s] = s
	}
	return s
}

// is compares without allocating (unless v needs decoding).
func (v jsonStr) is(s string) bool {
	if v.esc {
		return v.String() == s
	}
	return string(v.raw()) == s
}

// jsonByte classes the bytes of a JSON string: 0 as it is, or one of
// the others.
const (
	jsPlain = iota
	jsQuote
	jsEscape
	jsControl // < 0x20: not allowed in a string
	jsHigh    // >= 0x80: UTF-8, decoded (and repaired) by the decoder
)

var jsonByte = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x20:
			t[c] = jsControl
		case c == '"':
			t[c] = jsQuote
		case c == '\\':
			t[c] = jsEscape
		case c >= 0x80:
			t[c] = jsHigh
		}
	}
	return t
}()

// jsonSpan reads a JSON string at b[i:]: ok when the JSON decoder reads
// it (every escape one of \" \\ \/ \b \f \n \r \t \uXXXX, no control
// byte), as encoding/json's scanner checks a string.
func jsonSpan(b []byte, i int) (jsonStr, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return jsonStr{}, i, false
	}
	esc := false
	for j := i + 1; j < len(b); {
		switch jsonByte[b[j]] {
		case jsPlain:
			j++
		case jsQuote:
			return jsonStr{quoted: b[i : j+1], esc: esc}, j + 1, true
		case jsEscape:
			esc = true
			if j+1 >= len(b) {
				return jsonStr{}, len(b), false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
					return jsonStr{}, j, false
				}
				j += 6
			default:
				return jsonStr{}, j, false
			}
		case jsHigh:
			esc = true // let the decoder deal with UTF-8 (invalid bytes become U+FFFD)
			j++
		default:
			return jsonStr{}, j, false
		}
	}
	return jsonStr{}, len(b), false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// seqNo finds a configuration sequence number in a message:
// "ConfigSequenceNumber" of the env dict, "<N>.settings" (also
// "<extName>.<N>.settings"), "seqNo <N>" / "sequence number <N>".
func seqNo(m []byte, env envFacts) (int64, bool) {
	if env.hasSeq {
		return env.seq, true
	}
	if i := bytes.Index(m, settings); i > 0 {
		j := i
		for j > 0 && isDigit(m[j-1]) && i-j < 18 {
			j--
		}
		if j < i && (j == 0 || m[j-1] == '/' || m[j-1] == ' ' || m[j-1] == '.' || m[j-1] == '\\' || m[j-1] == ':') {
			if n, err := strconv.ParseInt(string(m[j:i]), 10, 64); err == nil {
				return n, true
			}
		}
	}
	// The first "seqNo" and the first "sequence number", found in one
	// pass over the "seq"s of the message.
	at := [2]int{-1, -1}
	for off := 0; at[0] < 0 || at[1] < 0; {
		j := bytes.Index(m[off:], seqKeys[0][:3])
		if j < 0 {
			break
		}
		off += j
		for n, key := range seqKeys {
			if at[n] < 0 && bytes.HasPrefix(m[off:], key) {
				at[n] = off
			}
		}
		off++
	}
	for n, key := range seqKeys {
		if at[n] < 0 {
			continue
		}
		if v, ok := seqNoAfter(m, at[n]+len(key)); ok {
			return v, true
		}
	}
	return 0, false
}

// seqNoAfter reads the number that follows a sequence key ending at k,
// past its separators (" ", ": ", "=", " is ", " to ").
func seqNoAfter(m []byte, k int) (int64, bool) {
	for n := 0; k < len(m) && n < 5 && !isDigit(m[k]); n++ {
		c := m[k]
		if c != ' ' && c != ':' && c != '=' && c != 'i' && c != 's' && c != 't' && c != 'o' && c != '"' {
			break
		}
		k++
	}
	e := k
	for e < len(m) && isDigit(m[e]) && e-k < 18 {
		e++
	}
	if e > k {
		if n, err := strconv.ParseInt(string(m[k:e]), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}
