package agentlog

import (
	"bytes"
	"encoding/json"
	"strconv"

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

// parseEnv reads the JSON dict of an Executing message.
func parseEnv(m []byte) *ordereddict.Dict {
	js := envJSON(m)
	if js == nil {
		return nil
	}
	if d := parseFlatJSON(js); d != nil {
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
	return factsOf(parseEnv(m))
}

// parseFlatJSON parses a JSON object whose values are all strings (the
// agent's environment dict) without a general decoder; nil for anything
// else (the caller falls back to one).
func parseFlatJSON(b []byte) *ordereddict.Dict {
	d := ordereddict.NewDict()
	if !flatJSON(b, func(k, v jsonStr) { d.Set(k.String(), v.String()) }) {
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

// jsonStr is a JSON string: its bytes between the quotes when they need
// no decoding, else its decoded value.
type jsonStr struct {
	raw []byte
	dec string
	esc bool
}

func (v jsonStr) String() string {
	if v.esc {
		return v.dec
	}
	return string(v.raw)
}

// is compares without allocating.
func (v jsonStr) is(s string) bool {
	if v.esc {
		return v.dec == s
	}
	return string(v.raw) == s
}

// jsonSpan reads a JSON string at b[i:].
func jsonSpan(b []byte, i int) (jsonStr, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return jsonStr{}, i, false
	}
	esc := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			if !esc {
				return jsonStr{raw: b[i+1 : j]}, j + 1, true
			}
			var s string
			if err := json.Unmarshal(b[i:j+1], &s); err != nil {
				return jsonStr{}, j, false
			}
			return jsonStr{dec: s, esc: true}, j + 1, true
		default:
			if b[j] < 0x20 {
				return jsonStr{}, j, false
			}
			if b[j] >= 0x80 {
				esc = true // let the decoder deal with UTF-8 (invalid bytes become U+FFFD)
			}
		}
	}
	return jsonStr{}, len(b), false
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
	for _, key := range [][]byte{[]byte("seqNo"), []byte("sequence number")} {
		i := bytes.Index(m, key)
		if i < 0 {
			continue
		}
		k := i + len(key)
		// separators: " ", ": ", "=", " is ", " to "
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
	}
	return 0, false
}
