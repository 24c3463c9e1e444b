package goalstate

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"

	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/redact"
)

// Document formats (the Format column).
const (
	FormatExtensionsConfig = "ExtensionsConfig"
	FormatVmSettings       = "VmSettings"
)

// Setting is one extension setting of a goal state: one runtimeSettings
// element of a plugin (ExtensionsConfig) or one settings element of an
// extensionGoalStates entry (VmSettings). A handler listed without any
// setting gives one Setting with HasSettings false.
type Setting struct {
	Handler       string
	Version       string
	State         string
	ExtensionName string // multi-config extension name; "" for single-config
	SeqNo         *int64
	HasSettings   bool
	// PublicSettings is the parsed publicSettings: an *ordereddict.Dict
	// for a JSON object, the raw value when it is not an object, nil
	// when absent.
	PublicSettings    interface{}
	Thumbprint        string
	ProtectedSettings string // ciphertext or the redaction marker, as found
	ProtectedKind     string // protectedSettings is not a string: "a JSON object", "a number", ...
}

// Doc is one parsed goal-state document.
type Doc struct {
	Format      string
	Incarnation *int64    // goalStateIncarnation attribute (ExtensionsConfig)
	Created     time.Time // createdOnTicks (ExtensionsConfig) or extensionsLastModifiedTickCount (VmSettings)
	Settings    []Setting
	// Warnings are problems inside the document that did not stop the
	// parse (a RuntimeSettings body that is not JSON, a field of the wrong
	// type). Each names the handler it concerns.
	Warnings []string

	rootSeen bool
}

// ErrNotExtensionsConfig is returned for a well-formed XML document whose
// root is not <Extensions>: another kind of goal-state document.
var ErrNotExtensionsConfig = errors.New("not an ExtensionsConfig document")

// maxJSONDepth bounds nesting in settings JSON (hostile input).
const maxJSONDepth = 256

// .NET ticks: 100 ns units since 0001-01-01T00:00:00Z.
const (
	ticksPerSecond = 10_000_000
	unixEpochTicks = 621_355_968_000_000_000
	maxTicks       = 3_155_378_975_999_999_999 // 9999-12-31T23:59:59.9999999Z
)

// TicksToTime converts .NET ticks (DateTime.Ticks, UTC) to a UTC time,
// exactly (100 ns resolution). ok is false for values outside
// 0001-01-01 .. 9999-12-31 and for 0 (an unset DateTime).
func TicksToTime(ticks int64) (t time.Time, ok bool) {
	if ticks <= 0 || ticks > maxTicks {
		return time.Time{}, false
	}
	d := ticks - unixEpochTicks
	sec := d / ticksPerSecond
	rem := d % ticksPerSecond
	if rem < 0 {
		rem += ticksPerSecond
		sec--
	}
	return time.Unix(sec, rem*100).UTC(), true
}

func parseTicks(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return TicksToTime(n)
}

func parseInt(s string) *int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// ---------------------------------------------------------------------
// ExtensionsConfig (WireServer, XML)

type xmlPluginDecl struct {
	Name    string `xml:"name,attr"`
	Version string `xml:"version,attr"`
	State   string `xml:"state,attr"`
}

type xmlRuntimeSettings struct {
	SeqNo string `xml:"seqNo,attr"`
	Name  string `xml:"name,attr"`
	State string `xml:"state,attr"`
	Body  string `xml:",chardata"`
}

type xmlPluginSettings struct {
	Name    string               `xml:"name,attr"`
	Version string               `xml:"version,attr"`
	Single  []xmlRuntimeSettings `xml:"RuntimeSettings"`
	Multi   []xmlRuntimeSettings `xml:"ExtensionRuntimeSettings"`
}

// ParseExtensionsConfig parses an ExtensionsConfig document (the agent's
// ExtensionsConfig[.N].xml, Windows' WireServerRoleExtensionsConfig_*.xml).
// It reads the XML as a stream: when the document is malformed or cut
// short it returns the settings read before the damage together with the
// error. A well-formed document of another kind gives
// ErrNotExtensionsConfig and no Doc.
// It is long because it is one streaming XML loop whose token cases share
// the element stack and the partial results: that is what lets it keep
// what it read before the damage.
func ParseExtensionsConfig(data []byte) (*Doc, error) {
	data, _ = evidence.DecodeText(data)
	dec := xml.NewDecoder(bytes.NewReader(data))
	// The bytes are UTF-8 by now, whatever the declaration says.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	doc := &Doc{Format: FormatExtensionsConfig}
	var (
		decls    []xmlPluginDecl
		settings []xmlPluginSettings
		stack    []string
		perr     error
	)
	for perr == nil {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) > 0 {
				perr = fmt.Errorf("document ends inside <%s>", stack[len(stack)-1])
			}
			break
		}
		if err != nil {
			perr = err
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			switch {
			case len(stack) == 0:
				if name != "Extensions" {
					return nil, fmt.Errorf("%w (root element <%s>)", ErrNotExtensionsConfig, name)
				}
				doc.rootSeen = true
				for _, a := range t.Attr {
					if a.Name.Local == "goalStateIncarnation" {
						doc.Incarnation = parseInt(a.Value)
					}
				}
			case len(stack) == 2 && stack[1] == "Plugins" && name == "Plugin":
				var d xmlPluginDecl
				if err := dec.DecodeElement(&d, &t); err != nil {
					perr = err
				}
				if d.Name != "" {
					decls = append(decls, d)
				}
				continue
			case len(stack) == 2 && stack[1] == "PluginSettings" && name == "Plugin":
				var s xmlPluginSettings
				if err := dec.DecodeElement(&s, &t); err != nil {
					perr = err
				}
				if s.Name != "" || len(s.Single)+len(s.Multi) > 0 {
					settings = append(settings, s)
				}
				continue
			case len(stack) == 1 && name == "InVMGoalStateMetaData":
				for _, a := range t.Attr {
					if a.Name.Local == "createdOnTicks" {
						if ts, ok := parseTicks(a.Value); ok {
							doc.Created = ts
						} else {
							doc.Warnings = append(doc.Warnings, fmt.Sprintf("createdOnTicks %q is not a valid .NET tick count", a.Value))
						}
					}
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if !doc.rootSeen {
		if perr == nil {
			perr = errors.New("no XML element found")
		}
		return nil, perr
	}
	doc.buildFromXML(decls, settings)
	return doc, perr
}

// buildFromXML joins the <Plugins> declarations (state, version) with
// their <PluginSettings>, in the order of <Plugins>; settings of plugins
// that were not declared follow.
func (doc *Doc) buildFromXML(decls []xmlPluginDecl, settings []xmlPluginSettings) {
	used := make([]bool, len(settings))
	emit := func(d *xmlPluginDecl, s *xmlPluginSettings) {
		base := Setting{}
		if d != nil {
			base.Handler, base.Version, base.State = d.Name, d.Version, d.State
		}
		if s != nil {
			if s.Name != "" {
				base.Handler = s.Name
			}
			if s.Version != "" {
				base.Version = s.Version
			}
		}
		if s == nil || len(s.Single)+len(s.Multi) == 0 {
			doc.Settings = append(doc.Settings, base)
			return
		}
		for _, rs := range s.Single {
			doc.addRuntimeSettings(base, rs)
		}
		for _, rs := range s.Multi {
			b := base
			b.ExtensionName = rs.Name
			if rs.State != "" {
				b.State = rs.State
			}
			doc.addRuntimeSettings(b, rs)
		}
	}
	byName := make(map[string][]int, len(settings))
	for j := range settings {
		k := strings.ToLower(settings[j].Name)
		byName[k] = append(byName[k], j)
	}
	for i := range decls {
		found := false
		k := strings.ToLower(decls[i].Name)
		for _, j := range byName[k] {
			if !used[j] {
				used[j] = true
				found = true
				emit(&decls[i], &settings[j])
			}
		}
		delete(byName, k) // a handler declared twice gets its settings once
		if !found {
			emit(&decls[i], nil)
		}
	}
	for j := range settings {
		if !used[j] {
			emit(nil, &settings[j])
		}
	}
}

type jsonHandlerSettings struct {
	Thumbprint json.RawMessage `json:"protectedSettingsCertThumbprint"`
	Protected  json.RawMessage `json:"protectedSettings"`
	Public     json.RawMessage `json:"publicSettings"`
}

type jsonRuntimeSettings struct {
	RuntimeSettings []struct {
		HandlerSettings jsonHandlerSettings `json:"handlerSettings"`
	} `json:"runtimeSettings"`
}

// addRuntimeSettings adds the settings of one RuntimeSettings body (the
// .settings JSON: {"runtimeSettings":[{"handlerSettings":{...}}]}).
func (doc *Doc) addRuntimeSettings(base Setting, rs xmlRuntimeSettings) {
	base.SeqNo = parseInt(rs.SeqNo)
	body := strings.TrimSpace(rs.Body)
	if body == "" {
		doc.Settings = append(doc.Settings, base)
		return
	}
	var v jsonRuntimeSettings
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("%s seqNo %s: RuntimeSettings is not valid settings JSON: %v", describe(base), rs.SeqNo, err))
		doc.Settings = append(doc.Settings, base)
		return
	}
	if len(v.RuntimeSettings) == 0 {
		doc.Settings = append(doc.Settings, base)
		return
	}
	for _, r := range v.RuntimeSettings {
		s := base
		doc.fillHandlerSettings(&s, r.HandlerSettings.Thumbprint, r.HandlerSettings.Protected, r.HandlerSettings.Public)
		doc.Settings = append(doc.Settings, s)
	}
}

func describe(s Setting) string {
	if s.ExtensionName != "" {
		return s.Handler + " (" + s.ExtensionName + ")"
	}
	if s.Handler == "" {
		return "unnamed handler"
	}
	return s.Handler
}

func (doc *Doc) fillHandlerSettings(s *Setting, thumb, prot, pub json.RawMessage) {
	s.HasSettings = true
	s.Thumbprint = rawText(thumb)
	s.ProtectedSettings = rawText(prot)
	s.ProtectedKind = protected.RawJSONKind(prot)
	var dups []string
	v, err := publicSettings(pub, &dups)
	if err != nil {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("%s: publicSettings: %v", describe(*s), err))
	}
	for _, d := range dups {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("%s: publicSettings: %s", describe(*s), d))
	}
	s.PublicSettings = v
}

// rawText is a JSON string's value, "" for null or absent, and the JSON
// text itself for any other value (kept as evidence).
func rawText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

func rawInt(raw json.RawMessage) *int64 {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		return parseInt(rawText(raw))
	}
	return parseInt(string(raw))
}

// publicSettings parses publicSettings: a JSON object (ExtensionsConfig)
// or a string holding a JSON object (VmSettings). Values that are neither
// are returned as found, with an error saying why.
// dups collects the keys written twice (see decodeValue).
func publicSettings(raw json.RawMessage, dups *[]string) (interface{}, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return string(raw), err
		}
		t := strings.TrimSpace(s)
		if t == "" {
			return nil, nil
		}
		v, err := decodeOrderedJSON([]byte(t), dups)
		if err != nil {
			return s, fmt.Errorf("string is not JSON: %v", err)
		}
		return v, nil
	}
	v, err := decodeOrderedJSON(raw, dups)
	if err != nil {
		return string(raw), err
	}
	return v, nil
}

// redactedJSON is v under key k as short, redacted JSON for a message.
func redactedJSON(k string, v interface{}) string {
	v = redact.Value(map[string]interface{}{k: v}).(map[string]interface{})[k]
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "...(" + strconv.Itoa(len(b)) + " bytes)"
	}
	return string(b)
}

// DecodeOrderedJSON decodes one JSON value keeping the order of object
// keys (*ordereddict.Dict), strings as strings, integers as int64 (uint64
// above its range) and other numbers as float64.
func DecodeOrderedJSON(data []byte) (interface{}, error) { return decodeOrderedJSON(data, nil) }

// decodeOrderedJSON is DecodeOrderedJSON that appends to dups (when not
// nil) a message for each key an object holds twice. The last value is
// kept: the handlers (Go encoding/json, .NET Newtonsoft.Json) and the
// Linux agent (Python json) all read the last. The values in the message
// are redacted: it is built before the plugin's redact= is known.
func decodeOrderedJSON(data []byte, dups *[]string) (interface{}, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0, dups)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int, dups *[]string) (interface{}, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := ordereddict.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec, depth+1, dups)
				if err != nil {
					return nil, err
				}
				if old, ok := d.Get(k); ok && dups != nil && len(*dups) < 32 {
					*dups = append(*dups, fmt.Sprintf("key %q written twice: first %s, then %s; the last is kept, "+
						"as Go encoding/json, Python json and .NET Newtonsoft.Json read it", k, redactedJSON(k, old), redactedJSON(k, v)))
				}
				d.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		case '[':
			arr := []interface{}{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1, dups)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %q", t)
	case json.Number:
		s := t.String()
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
		return s, nil
	}
	return tok, nil // string, bool, nil
}

// ---------------------------------------------------------------------
// VmSettings (HostGAPlugin, FastTrack, JSON)

type jsonVmSetting struct {
	Thumbprint     json.RawMessage `json:"protectedSettingsCertThumbprint"`
	Protected      json.RawMessage `json:"protectedSettings"`
	Public         json.RawMessage `json:"publicSettings"`
	SeqNo          json.RawMessage `json:"seqNo"`
	ExtensionName  json.RawMessage `json:"extensionName"`
	ExtensionState json.RawMessage `json:"extensionState"`
}

type jsonExtGoalState struct {
	Name          json.RawMessage `json:"name"`
	Version       json.RawMessage `json:"version"`
	State         json.RawMessage `json:"state"`
	SettingsSeqNo json.RawMessage `json:"settingsSeqNo"`
	Settings      json.RawMessage `json:"settings"`
}

// ParseVmSettings parses a VmSettings.json document (the HostGAPlugin's
// vmSettings, FastTrack goal states). It reads extensionGoalStates one
// entry at a time: when the document is malformed or cut short it returns
// the entries read before the damage together with the error.
func ParseVmSettings(data []byte) (*Doc, error) {
	data, _ = evidence.DecodeText(data)
	doc := &Doc{Format: FormatVmSettings}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("empty document")
		}
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return doc, err
		}
		key, _ := kt.(string)
		switch key {
		case "extensionGoalStates":
			if err := doc.readExtGoalStates(dec); err != nil {
				return doc, err
			}
		case "extensionsLastModifiedTickCount":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return doc, err
			}
			if n := rawInt(raw); n != nil {
				if ts, ok := TicksToTime(*n); ok {
					doc.Created = ts
				}
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return doc, err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return doc, err
	}
	return doc, nil
}

func (doc *Doc) readExtGoalStates(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "extensionGoalStates": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		doc.Warnings = append(doc.Warnings, "extensionGoalStates is not a list")
		if d, ok := tok.(json.Delim); ok && d == '{' {
			// Skip the object's contents.
			depth := 1
			for depth > 0 {
				t, err := dec.Token()
				if err != nil {
					return err
				}
				if d, ok := t.(json.Delim); ok {
					if d == '{' || d == '[' {
						depth++
					} else {
						depth--
					}
				}
			}
		}
		return nil
	}
	for dec.More() {
		var eg jsonExtGoalState
		if err := dec.Decode(&eg); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				doc.Warnings = append(doc.Warnings, fmt.Sprintf("extensionGoalStates entry is not an object (%s)", te.Value))
				continue
			}
			return err
		}
		doc.addExtGoalState(eg)
	}
	_, err = dec.Token()
	return err
}

func (doc *Doc) addExtGoalState(eg jsonExtGoalState) {
	base := Setting{
		Handler: rawText(eg.Name),
		Version: rawText(eg.Version),
		State:   rawText(eg.State),
		SeqNo:   rawInt(eg.SettingsSeqNo),
	}
	raw := bytes.TrimSpace(eg.Settings)
	if len(raw) == 0 || string(raw) == "null" {
		doc.Settings = append(doc.Settings, base)
		return
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("%s: settings is not a list", describe(base)))
		doc.Settings = append(doc.Settings, base)
		return
	}
	if len(list) == 0 {
		doc.Settings = append(doc.Settings, base)
		return
	}
	for _, item := range list {
		s := base
		var vs jsonVmSetting
		if err := json.Unmarshal(item, &vs); err != nil {
			doc.Warnings = append(doc.Warnings, fmt.Sprintf("%s: settings entry is not an object", describe(base)))
			doc.Settings = append(doc.Settings, s)
			continue
		}
		if n := rawInt(vs.SeqNo); n != nil {
			s.SeqNo = n
		}
		s.ExtensionName = rawText(vs.ExtensionName)
		if st := rawText(vs.ExtensionState); st != "" {
			s.State = st
		}
		doc.fillHandlerSettings(&s, vs.Thumbprint, vs.Protected, vs.Public)
		doc.Settings = append(doc.Settings, s)
	}
}
