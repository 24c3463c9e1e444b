package evtxwriter

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is the simple description of one event the CLI reads (YAML or
// JSON): the System fields Windows writes for every event and the
// EventData values with their types. Absent optional fields are written
// as null substitutions, which every reader leaves out.
type Event struct {
	Channel      string `json:"channel" yaml:"channel"`
	Provider     string `json:"provider" yaml:"provider"`
	ProviderGUID string `json:"provider_guid,omitempty" yaml:"provider_guid,omitempty"` // manifest providers
	EventID      uint16 `json:"event_id" yaml:"event_id"`
	Qualifiers   *int   `json:"qualifiers,omitempty" yaml:"qualifiers,omitempty"` // classic providers (0)
	Version      uint8  `json:"version" yaml:"version"`
	Level        uint8  `json:"level" yaml:"level"`
	Task         uint16 `json:"task" yaml:"task"`
	Opcode       uint8  `json:"opcode" yaml:"opcode"`
	Keywords     string `json:"keywords" yaml:"keywords"` // "0x8020000000000000"
	Time         string `json:"time" yaml:"time"`         // RFC 3339, up to 100 ns
	RecordID     uint64 `json:"record_id" yaml:"record_id"`
	ActivityID   string `json:"activity_id,omitempty" yaml:"activity_id,omitempty"`
	ProcessID    uint32 `json:"process_id" yaml:"process_id"`
	ThreadID     uint32 `json:"thread_id" yaml:"thread_id"`
	Computer     string `json:"computer" yaml:"computer"`
	UserID       string `json:"user_id,omitempty" yaml:"user_id,omitempty"` // SID
	Data         []Data `json:"data" yaml:"data"`
}

// Data is one EventData value: <Data Name="name">value</Data>, or an
// unnamed <Data> (classic providers such as Windows PowerShell).
type Data struct {
	Name  string      `json:"name,omitempty" yaml:"name,omitempty"`
	Type  string      `json:"type,omitempty" yaml:"type,omitempty"` // default string
	Value interface{} `json:"value" yaml:"value"`
}

// ParseValue encodes v as typ: string, uint8, uint16, uint32, uint64,
// int32, int64, hex32, hex64, bool, guid, sid, filetime (RFC 3339),
// binary (hex), strings (a list), null.
func ParseValue(typ string, v interface{}) (Value, error) {
	if typ == "" {
		typ = "string"
	}
	if v == nil || typ == "null" {
		return Null(), nil
	}
	str := fmt.Sprint(v)
	uint := func(bits int) (uint64, error) { return strconv.ParseUint(str, 0, bits) }
	sint := func(bits int) (int64, error) { return strconv.ParseInt(str, 0, bits) }
	switch typ {
	case "string":
		return String(str), nil
	case "uint8":
		n, err := uint(8)
		return UInt8(uint8(n)), err
	case "uint16":
		n, err := uint(16)
		return UInt16(uint16(n)), err
	case "uint32":
		n, err := uint(32)
		return UInt32(uint32(n)), err
	case "uint64":
		n, err := uint(64)
		return UInt64(n), err
	case "hex32":
		n, err := uint(32)
		return HexInt32(uint32(n)), err
	case "hex64":
		n, err := uint(64)
		return HexInt64(n), err
	case "int32":
		n, err := sint(32)
		return Int32(int32(n)), err
	case "int64":
		n, err := sint(64)
		return Int64(n), err
	case "bool":
		b, err := strconv.ParseBool(str)
		return Bool(b), err
	case "guid":
		return GUID(str)
	case "sid":
		return SID(str)
	case "filetime":
		t, err := time.Parse(time.RFC3339Nano, str)
		return FileTime(t), err
	case "binary":
		b, err := hex.DecodeString(str)
		return Binary(b), err
	case "strings":
		list, ok := v.([]interface{})
		if !ok {
			return Value{}, fmt.Errorf("strings: want a list, got %T", v)
		}
		out := make([]string, len(list))
		for i, x := range list {
			out[i] = fmt.Sprint(x)
		}
		return StringArray(out), nil
	}
	return Value{}, fmt.Errorf("unknown value type %q", typ)
}

// EventXMLNS is the namespace Windows puts on every Event element.
const EventXMLNS = "http://schemas.microsoft.com/win/2004/08/events/event"

// Record builds the record for e: the System element as Windows writes
// it (same elements, order and value types) and EventData.
func (e Event) Record() (Record, error) {
	t, err := time.Parse(time.RFC3339Nano, e.Time)
	if err != nil {
		return Record{}, fmt.Errorf("record %d: time: %v", e.RecordID, err)
	}
	kw, err := strconv.ParseUint(strings.TrimSpace(e.Keywords), 0, 64)
	if err != nil && e.Keywords != "" {
		return Record{}, fmt.Errorf("record %d: keywords: %v", e.RecordID, err)
	}
	opt := func(typ, s string) (Value, error) {
		if s == "" {
			return NullOf(map[string]byte{"guid": TypeGUID, "sid": TypeSID}[typ]), nil
		}
		return ParseValue(typ, s)
	}
	guid, err := opt("guid", e.ProviderGUID)
	if err != nil {
		return Record{}, err
	}
	activity, err := opt("guid", e.ActivityID)
	if err != nil {
		return Record{}, err
	}
	user, err := opt("sid", e.UserID)
	if err != nil {
		return Record{}, err
	}
	qual := NullOf(TypeUInt16)
	if e.Qualifiers != nil {
		qual = UInt16(uint16(*e.Qualifiers))
	}
	// Windows' System template: the same elements for every event, the
	// values numbered in a fixed order, Computer (and, for classic
	// providers, Provider Name and Channel) literal in the template.
	classic := e.ProviderGUID == "" && e.Qualifiers != nil
	provider := &Node{Name: "Provider", Attrs: []Attr{Sub("Name", String(e.Provider).At(14)), Sub("Guid", guid.At(15))}}
	channel := Elem("Channel", String(e.Channel).At(16))
	tail := 17
	if classic {
		provider = &Node{Name: "Provider", Attrs: []Attr{Lit("Name", e.Provider)}}
		channel = literalElem("Channel", e.Channel)
		tail = 19
	}
	system := &Node{Name: "System", Children: []*Node{
		provider,
		Elem("EventID", UInt16(e.EventID).At(3), Sub("Qualifiers", qual.At(4))),
		Elem("Version", UInt8(e.Version).At(11)),
		Elem("Level", UInt8(e.Level).At(0)),
		Elem("Task", UInt16(e.Task).At(2)),
		Elem("Opcode", UInt8(e.Opcode).At(1)),
		Elem("Keywords", HexInt64(kw).At(5)),
		{Name: "TimeCreated", Attrs: []Attr{Sub("SystemTime", FileTime(t).At(6))}},
		Elem("EventRecordID", UInt64(e.RecordID).At(10)),
		{Name: "Correlation", Attrs: []Attr{Sub("ActivityID", activity.At(7)), Sub("RelatedActivityID", NullOf(TypeGUID).At(tail-4))}},
		{Name: "Execution", Attrs: []Attr{Sub("ProcessID", UInt32(e.ProcessID).At(8)), Sub("ThreadID", UInt32(e.ThreadID).At(9))}},
		channel,
		literalElem("Computer", e.Computer),
		{Name: "Security", Attrs: []Attr{Sub("UserID", user.At(12))}},
	}}
	root := &Node{Name: "Event", Attrs: []Attr{Lit("xmlns", EventXMLNS)}, Children: []*Node{system}}
	data, err := e.eventData(classic)
	if err != nil {
		return Record{}, err
	}
	if data != nil {
		v := BinXML(data).At(tail)
		root.Tail = &v
	}
	return Record{ID: e.RecordID, Written: t, Event: root}, nil
}

// literalElem is an element whose text is written into the template.
func literalElem(name, text string) *Node {
	return &Node{Name: name, literal: &text}
}

// eventData is the EventData fragment: named Data values with their
// types (manifest providers), or the unnamed strings of a classic
// provider as one string array, followed by an empty Binary.
func (e Event) eventData(classic bool) (*Node, error) {
	if len(e.Data) == 0 {
		return nil, nil
	}
	data := &Node{Name: "EventData", Normal: !classic}
	if classic {
		var list []string
		for _, d := range e.Data {
			if d.Name != "" {
				return nil, fmt.Errorf("record %d: classic provider data is unnamed (got %q)", e.RecordID, d.Name)
			}
			list = append(list, fmt.Sprint(d.Value))
		}
		data.Children = []*Node{Elem("Data", StringArray(list)), Elem("Binary", NullOf(TypeBinary).At(2))}
		return data, nil
	}
	for _, d := range e.Data {
		v, err := ParseValue(d.Type, d.Value)
		if err != nil {
			return nil, fmt.Errorf("record %d: data %s: %v", e.RecordID, d.Name, err)
		}
		n := Elem("Data", v)
		if d.Name != "" {
			n.Attrs = []Attr{Lit("Name", d.Name)}
		}
		data.Children = append(data.Children, n)
	}
	return data, nil
}
