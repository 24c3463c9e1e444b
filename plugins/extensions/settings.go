package extensions

import (
	"bytes"
	"errors"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/scripttext"
)

// MaxScriptBytes caps a script decoded from settings (base64 and gzip):
// a gzip bomb cannot make the parser allocate more.
const MaxScriptBytes = scripttext.MaxBytes

// Settings is what a .settings file says (docs/formats.md §1.4, §2).
type Settings struct {
	Empty    bool   // 0 bytes (or only whitespace): the sequence existed, settings were truncated
	Encoding string // evidence.DecodeText's name for the text encoding

	Thumbprint        string // protectedSettingsCertThumbprint
	ProtectedSettings string // base64 CMS ciphertext, as found
	Protected         bool   // ciphertext present
	ProtectedKind     string // protectedSettings is not a string: "a JSON object", "a number", ...

	Public    *ordereddict.Dict // publicSettings when it is an object
	PublicRaw any               // publicSettings when it is something else (string, list)

	Command      string // the command or script text found in public settings
	CommandField string // where: commandToExecute, script, source.script
	CommandNote  string // decoding remarks (not base64, gzip ended early, capped)
	FileUris     []string
	RuntimeCount int // elements of runtimeSettings (1 when well formed)
	Dups         []Dup
}

// ParseSettings parses the bytes of a .settings file. It returns what it
// could read together with an error for malformed input, so a caller can
// still emit a row.
func ParseSettings(data []byte) (*Settings, error) {
	text, enc := evidence.DecodeText(data)
	s := &Settings{Encoding: enc}
	if len(bytes.TrimSpace(text)) == 0 {
		s.Empty = true
		return s, nil
	}
	v, dups, err := decodeJSONDups(text)
	s.Dups = dups
	if err != nil {
		return s, err
	}
	top, ok := v.(*ordereddict.Dict)
	if !ok {
		return s, errors.New("top level is not a JSON object")
	}
	hs := top
	if rs, ok := get(top, "runtimeSettings"); ok {
		list, _ := rs.([]any)
		s.RuntimeCount = len(list)
		if len(list) == 0 {
			return s, errors.New("runtimeSettings is empty or not a list")
		}
		first, _ := list[0].(*ordereddict.Dict)
		hs = getDict(first, "handlerSettings")
		if hs == nil {
			return s, errors.New("runtimeSettings[0].handlerSettings is missing")
		}
	} else if d := getDict(top, "handlerSettings"); d != nil {
		hs = d
	}
	s.Thumbprint, _ = getStr(hs, "protectedSettingsCertThumbprint")
	switch p, _ := get(hs, "protectedSettings"); t := p.(type) {
	case string:
		s.ProtectedSettings = t
		s.Protected = strings.TrimSpace(t) != ""
	case *ordereddict.Dict:
		s.Protected = t.Len() > 0
		s.ProtectedKind = protected.JSONKind(t)
	default:
		s.ProtectedKind = protected.JSONKind(t)
	}
	pub, _ := get(hs, "publicSettings")
	switch t := pub.(type) {
	case *ordereddict.Dict:
		s.Public = t
	case nil:
	case string:
		// Some writers nest the JSON as a string.
		if d, err := decodeJSON([]byte(t)); err == nil {
			if dd, ok := d.(*ordereddict.Dict); ok {
				s.Public = dd
				break
			}
		}
		s.PublicRaw = t
	default:
		s.PublicRaw = t
	}
	s.findCommand()
	return s, nil
}

func (s *Settings) findCommand() {
	p := s.Public
	if p == nil {
		return
	}
	if c, ok := getStr(p, "commandToExecute"); ok && c != "" {
		s.Command, s.CommandField = c, "commandToExecute"
	} else if sc, ok := get(p, "script"); ok && sc != nil {
		switch t := sc.(type) {
		case string:
			if t != "" {
				s.Command, s.CommandNote = DecodeScript(t)
				s.CommandField = "script"
			}
		case []any: // Windows Run Command: an array of lines
			lines := make([]string, 0, len(t))
			for _, l := range t {
				if ls, ok := asString(l); ok {
					lines = append(lines, ls)
				}
			}
			s.Command, s.CommandField = strings.Join(lines, "\n"), "script"
		}
	} else if src := getDict(p, "source"); src != nil {
		if c, ok := getStr(src, "script"); ok && c != "" {
			s.Command, s.CommandField = c, "source.script"
		}
	}
	if fu, ok := get(p, "fileUris"); ok {
		switch t := fu.(type) {
		case []any:
			for _, u := range t {
				if us, ok := u.(string); ok && us != "" {
					s.FileUris = append(s.FileUris, us)
				}
			}
		case string:
			if t != "" {
				s.FileUris = append(s.FileUris, t)
			}
		}
	}
	// RC v2 downloads: source.scriptUri and artifacts[].uri.
	if src := getDict(p, "source"); src != nil {
		if u, ok := getStr(src, "scriptUri"); ok && u != "" {
			s.FileUris = append(s.FileUris, u)
		}
	}
	if arts, ok := get(p, "artifacts"); ok {
		if list, ok := arts.([]any); ok {
			for _, a := range list {
				if u, ok := getStr(asDict(a), "uri"); ok && u != "" {
					s.FileUris = append(s.FileUris, u)
				}
			}
		}
	}
}

func asDict(v any) *ordereddict.Dict { d, _ := v.(*ordereddict.Dict); return d }

// DecodeScript decodes a Run Command / CSE "script" value: base64, then
// gunzip when the bytes are gzip (docs/formats.md §2). Text that is not base64 is
// returned as is. note explains anything unusual. (scripttext.Decode.)
func DecodeScript(v string) (script, note string) { return scripttext.Decode(v) }

// toText turns decoded script bytes into a string: BOM and UTF-16 are
// decoded, invalid UTF-8 replaced. (scripttext.ToText.)
func toText(b []byte) string { return scripttext.ToText(b) }
