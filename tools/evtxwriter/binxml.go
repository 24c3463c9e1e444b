// Package evtxwriter writes Windows event log (.evtx) files in the form
// Windows writes them: a file header, 64 KiB chunks with their CRC32s,
// string and template tables, and event records whose binary XML is a
// template instance (the template defined inline at its first use in a
// chunk, referenced afterwards) with a typed substitution array. It exists
// to build test fixtures of events no public sample has (the Azure agent
// channels, 4688s started by extension handlers); its output is checked
// against two independent readers (see the package tests).
package evtxwriter

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"
)

// Value types of binary XML substitutions ([MS-EVEN6] 2.2.12).
const (
	TypeNull      byte = 0x00
	TypeString    byte = 0x01
	TypeInt8      byte = 0x03
	TypeUInt8     byte = 0x04
	TypeInt16     byte = 0x05
	TypeUInt16    byte = 0x06
	TypeInt32     byte = 0x07
	TypeUInt32    byte = 0x08
	TypeInt64     byte = 0x09
	TypeUInt64    byte = 0x0a
	TypeReal32    byte = 0x0b
	TypeReal64    byte = 0x0c
	TypeBool      byte = 0x0d
	TypeBinary    byte = 0x0e
	TypeGUID      byte = 0x0f
	TypeFileTime  byte = 0x11
	TypeSID       byte = 0x13
	TypeHexInt32  byte = 0x14
	TypeHexInt64  byte = 0x15
	TypeStringArr byte = 0x81
	TypeUInt16Arr byte = 0x86
	TypeUInt64Arr byte = 0x8a
)

// Value is one typed substitution value, already encoded.
type Value struct {
	Type byte
	Data []byte
	// Decl is the type the template declares for a null value (Windows
	// declares the field's type and passes a null; a template that
	// declares type 0 is misread by the Velocidex parser).
	Decl byte
	// Node is the content of a BinXml value: a fragment with its own
	// template instance, as Windows writes EventData and UserData.
	Node *Node
	// Slot, when set, is the substitution index plus one: Windows'
	// System template numbers its values in a fixed order that is not
	// the document order.
	Slot int
}

// TypeBinXML is a nested binary XML fragment.
const TypeBinXML byte = 0x21

// BinXML is a value holding a nested fragment (its own template).
func BinXML(n *Node) Value { return Value{Type: TypeBinXML, Node: n} }

// At returns v placed at substitution index i.
func (v Value) At(i int) Value { v.Slot = i + 1; return v }

// declared is the type the template states for v.
func (v Value) declared() byte {
	if v.Type == TypeNull {
		if v.Decl == TypeNull {
			return TypeString
		}
		return v.Decl
	}
	return v.Type
}

// Null is an absent string value: optional substitutions with a null
// are left out of the rendered event, as Windows does for an unset
// ActivityID.
func Null() Value { return Value{Type: TypeNull, Decl: TypeString} }

// NullOf is an absent value of a declared type.
func NullOf(t byte) Value { return Value{Type: TypeNull, Decl: t} }

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// String is a UTF-16LE string value (no terminator).
func String(s string) Value { return Value{Type: TypeString, Data: utf16le(s)} }

func UInt8(v uint8) Value { return Value{Type: TypeUInt8, Data: []byte{v}} }
func UInt16(v uint16) Value {
	return Value{Type: TypeUInt16, Data: binary.LittleEndian.AppendUint16(nil, v)}
}
func UInt32(v uint32) Value {
	return Value{Type: TypeUInt32, Data: binary.LittleEndian.AppendUint32(nil, v)}
}
func UInt64(v uint64) Value {
	return Value{Type: TypeUInt64, Data: binary.LittleEndian.AppendUint64(nil, v)}
}
func Int32(v int32) Value {
	return Value{Type: TypeInt32, Data: binary.LittleEndian.AppendUint32(nil, uint32(v))}
}
func Int64(v int64) Value {
	return Value{Type: TypeInt64, Data: binary.LittleEndian.AppendUint64(nil, uint64(v))}
}
func HexInt32(v uint32) Value {
	return Value{Type: TypeHexInt32, Data: binary.LittleEndian.AppendUint32(nil, v)}
}
func HexInt64(v uint64) Value {
	return Value{Type: TypeHexInt64, Data: binary.LittleEndian.AppendUint64(nil, v)}
}
func Real32(v float32) Value {
	return Value{Type: TypeReal32, Data: binary.LittleEndian.AppendUint32(nil, math.Float32bits(v))}
}
func Real64(v float64) Value {
	return Value{Type: TypeReal64, Data: binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))}
}

// Bool is a 4-byte BOOL, as Windows writes it.
func Bool(v bool) Value {
	n := uint32(0)
	if v {
		n = 1
	}
	return Value{Type: TypeBool, Data: binary.LittleEndian.AppendUint32(nil, n)}
}

func Binary(b []byte) Value { return Value{Type: TypeBinary, Data: append([]byte(nil), b...)} }

// FileTime is a FILETIME (100 ns ticks since 1601) value.
func FileTime(t time.Time) Value { return FileTimeTicks(ToFileTime(t)) }

// FileTimeTicks is a FILETIME value from its raw tick count.
func FileTimeTicks(ft uint64) Value {
	return Value{Type: TypeFileTime, Data: binary.LittleEndian.AppendUint64(nil, ft)}
}

// ToFileTime converts t to FILETIME ticks.
func ToFileTime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100 + 116444736000000000)
}

// GUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces optional)
// into a GUID value (mixed-endian, as Windows stores it).
func GUID(s string) (Value, error) {
	b, err := guidBytes(s)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: TypeGUID, Data: b}, nil
}

func guidBytes(s string) ([]byte, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	var d uint32
	var w1, w2 uint16
	var rest [8]byte
	var c0, c1 uint16
	var tail uint64
	n, err := fmt.Sscanf(s, "%08x-%04x-%04x-%04x-%012x", &d, &w1, &w2, &c0, &tail)
	if err != nil || n != 5 || len(s) != 36 {
		return nil, fmt.Errorf("bad GUID %q", s)
	}
	_ = c1
	rest[0], rest[1] = byte(c0>>8), byte(c0)
	for i := 0; i < 6; i++ {
		rest[2+i] = byte(tail >> (8 * (5 - i)))
	}
	b := binary.LittleEndian.AppendUint32(nil, d)
	b = binary.LittleEndian.AppendUint16(b, w1)
	b = binary.LittleEndian.AppendUint16(b, w2)
	return append(b, rest[:]...), nil
}

// SID parses "S-1-5-21-..." into a binary SID value.
func SID(s string) (Value, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" || len(parts) > 3+15 {
		return Value{}, fmt.Errorf("bad SID %q", s)
	}
	var rev uint8
	var auth uint64
	if _, err := fmt.Sscanf(parts[1], "%d", &rev); err != nil {
		return Value{}, fmt.Errorf("bad SID %q", s)
	}
	if _, err := fmt.Sscanf(parts[2], "%d", &auth); err != nil || auth >= 1<<48 {
		return Value{}, fmt.Errorf("bad SID %q", s)
	}
	b := []byte{rev, byte(len(parts) - 3)}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, p := range parts[3:] {
		var sub uint32
		if _, err := fmt.Sscanf(p, "%d", &sub); err != nil {
			return Value{}, fmt.Errorf("bad SID %q", s)
		}
		b = binary.LittleEndian.AppendUint32(b, sub)
	}
	return Value{Type: TypeSID, Data: b}, nil
}

// StringArray is a list of strings (NUL separated UTF-16LE).
func StringArray(v []string) Value {
	return Value{Type: TypeStringArr, Data: utf16le(strings.Join(v, "\x00"))}
}

func UInt16Array(v []uint16) Value {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return Value{Type: TypeUInt16Arr, Data: b}
}

func UInt64Array(v []uint64) Value {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return Value{Type: TypeUInt64Arr, Data: b}
}

// Attr is one attribute: a literal string in the template (like a Data
// element's Name) or a substituted value.
type Attr struct {
	Name    string
	Literal *string
	Value   *Value
}

// Node is an element of an event. Its content is one substituted value
// (Text), child elements, or both (the value first).
type Node struct {
	Name     string
	Attrs    []Attr
	Text     *Value
	Children []*Node
	// Tail is a value after the children: Windows' Event element ends
	// with the BinXml substitution holding EventData or UserData.
	Tail *Value
	// literal is text written into the template (Computer, and the
	// Provider and Channel of classic providers).
	literal *string
	// Normal, on a template's root, makes its substitutions normal ones
	// (0x0d) instead of optional ones (0x0e): Windows uses normal ones in
	// EventData templates.
	Normal bool
}

// Lit is a literal attribute.
func Lit(name, value string) Attr { return Attr{Name: name, Literal: &value} }

// Sub is a substituted attribute.
func Sub(name string, v Value) Attr { return Attr{Name: name, Value: &v} }

// Elem is an element with a substituted value as its content.
func Elem(name string, v Value, attrs ...Attr) *Node {
	return &Node{Name: name, Attrs: attrs, Text: &v}
}

// template is the shape of an event (names, literals, substitution
// indexes and types): events of one shape share a template, as events of
// one provider's event id and version do on Windows.
type template struct {
	key    string
	values []Value // by substitution index, for this event
	next   int
}

func (t *template) add(v Value) int {
	idx := t.next
	if v.Slot > 0 {
		idx = v.Slot - 1
	}
	t.next = idx + 1
	for len(t.values) <= idx {
		t.values = append(t.values, Null())
	}
	t.values[idx] = v
	return idx
}

// shape walks n, collecting the substitution values and a key
// describing everything else.
func shape(n *Node, t *template, b *strings.Builder) {
	fmt.Fprintf(b, "<%s", n.Name)
	for _, a := range n.Attrs {
		if a.Literal != nil {
			fmt.Fprintf(b, " %s=%q", a.Name, *a.Literal)
		} else {
			fmt.Fprintf(b, " %s=%%%d:%d", a.Name, t.add(*a.Value), a.Value.declared())
		}
	}
	b.WriteString(">")
	if n.literal != nil {
		fmt.Fprintf(b, "%q", *n.literal)
	}
	if n.Text != nil {
		fmt.Fprintf(b, "%%%d:%d", t.add(*n.Text), n.Text.declared())
	}
	for _, c := range n.Children {
		shape(c, t, b)
	}
	if n.Tail != nil {
		fmt.Fprintf(b, "%%%d:%d", t.add(*n.Tail), n.Tail.declared())
	}
	fmt.Fprintf(b, "</%s>", n.Name)
}

func index(v Value, next *int) int {
	idx := *next
	if v.Slot > 0 {
		idx = v.Slot - 1
	}
	*next = idx + 1
	return idx
}

// chunkBuf is the chunk being filled: its bytes (offsets are chunk
// relative) and the strings and templates already written in it.
type chunkBuf struct {
	buf       []byte
	strings   map[string]uint32 // name -> offset of its string entry
	stringTab [64]uint32        // bucket -> first string entry offset
	templates map[string]uint32 // template key -> definition offset
	tmplTab   [32]uint32
	tmplIDs   map[string]uint32
}

func newChunkBuf() *chunkBuf {
	c := &chunkBuf{
		buf:       make([]byte, chunkHeaderSize, chunkSize),
		strings:   map[string]uint32{},
		templates: map[string]uint32{},
		tmplIDs:   map[string]uint32{},
	}
	return c
}

func (c *chunkBuf) u8(v byte)    { c.buf = append(c.buf, v) }
func (c *chunkBuf) u16(v uint16) { c.buf = binary.LittleEndian.AppendUint16(c.buf, v) }
func (c *chunkBuf) u32(v uint32) { c.buf = binary.LittleEndian.AppendUint32(c.buf, v) }
func (c *chunkBuf) pos() uint32  { return uint32(len(c.buf)) }
func (c *chunkBuf) patch32(at uint32, v uint32) {
	binary.LittleEndian.PutUint32(c.buf[at:], v)
}

// nameHash is the 16-bit hash Windows stores with each name.
func nameHash(s string) uint16 {
	h := uint32(0)
	for _, c := range utf16.Encode([]rune(s)) {
		h = h*65599 + uint32(c)
	}
	return uint16(h)
}

// name writes a name reference: the string itself the first time it is
// used in the chunk, its offset afterwards.
func (c *chunkBuf) name(s string) {
	if off, ok := c.strings[s]; ok {
		c.u32(off)
		return
	}
	off := c.pos() + 4
	c.u32(off)
	h := nameHash(s)
	bucket := h % 64
	c.u32(c.stringTab[bucket]) // chain to the bucket's previous string
	c.stringTab[bucket] = off
	c.strings[s] = off
	u := utf16.Encode([]rune(s))
	c.u16(h)
	c.u16(uint16(len(u)))
	for _, x := range u {
		c.u16(x)
	}
	c.u16(0)
}

// element writes n's template form; next is the substitution index.
func (c *chunkBuf) element(n *Node, next *int, normal bool) {
	tok := byte(0x01)
	if len(n.Attrs) > 0 {
		tok = 0x41
	}
	c.u8(tok)
	c.u16(0xffff) // dependency identifier: none
	sizeAt := c.pos()
	c.u32(0)
	c.name(n.Name)
	if len(n.Attrs) > 0 {
		attrAt := c.pos()
		c.u32(0)
		for i, a := range n.Attrs {
			at := byte(0x06)
			if i < len(n.Attrs)-1 {
				at = 0x46 // more attributes follow
			}
			c.u8(at)
			c.name(a.Name)
			if a.Literal != nil {
				c.valueText(*a.Literal)
			} else {
				c.substitution(index(*a.Value, next), a.Value.declared(), normal)
			}
		}
		c.patch32(attrAt, c.pos()-attrAt-4)
	}
	if n.Text == nil && len(n.Children) == 0 && n.Tail == nil && n.literal == nil {
		c.u8(0x03) // close empty element
	} else {
		c.u8(0x02)
		if n.literal != nil {
			c.valueText(*n.literal)
		}
		if n.Text != nil {
			c.substitution(index(*n.Text, next), n.Text.declared(), normal)
		}
		for _, ch := range n.Children {
			c.element(ch, next, normal)
		}
		if n.Tail != nil {
			c.substitution(index(*n.Tail, next), n.Tail.declared(), normal)
		}
		c.u8(0x04)
	}
	c.patch32(sizeAt, c.pos()-sizeAt-4)
}

func (c *chunkBuf) valueText(s string) {
	c.u8(0x05)
	c.u8(TypeString)
	u := utf16.Encode([]rune(s))
	c.u16(uint16(len(u)))
	for _, x := range u {
		c.u16(x)
	}
}

// substitution writes an optional substitution (a null value leaves the
// attribute or content out) or a normal one.
func (c *chunkBuf) substitution(idx int, typ byte, normal bool) {
	if normal {
		c.u8(0x0d)
	} else {
		c.u8(0x0e)
	}
	c.u16(uint16(idx))
	c.u8(typ)
}

// templateID derives the template's GUID from its shape (stable across
// chunks and runs, distinct per shape).
func templateGUID(key string) [16]byte {
	var g [16]byte
	h1, h2 := uint64(14695981039346656037), uint64(1099511628211)
	for i := 0; i < len(key); i++ {
		h1 = (h1 ^ uint64(key[i])) * 1099511628211
		h2 = (h2 ^ uint64(key[i])) * 14695981039346656037
	}
	binary.LittleEndian.PutUint64(g[:], h1)
	binary.LittleEndian.PutUint64(g[8:], h2)
	if binary.LittleEndian.Uint32(g[:]) == 0 {
		g[0] = 1
	}
	return g
}

// binXML writes an event's binary XML: fragment header, template
// instance (with the definition inline if the chunk has not seen the
// shape), substitution array, end of fragment.
func (c *chunkBuf) binXML(root *Node) {
	t := &template{}
	var kb strings.Builder
	shape(root, t, &kb)
	key := kb.String()
	guid := templateGUID(key)
	id := binary.LittleEndian.Uint32(guid[:])

	c.buf = append(c.buf, 0x0f, 0x01, 0x01, 0x00)
	c.u8(0x0c)
	c.u8(0x01)
	c.u32(id)
	if off, ok := c.templates[key]; ok {
		c.u32(off)
	} else {
		off := c.pos() + 4
		c.u32(off)
		c.templates[key] = off
		bucket := id % 32
		c.u32(c.tmplTab[bucket]) // next template in the bucket
		c.tmplTab[bucket] = off
		c.buf = append(c.buf, guid[:]...)
		sizeAt := c.pos()
		c.u32(0)
		c.buf = append(c.buf, 0x0f, 0x01, 0x01, 0x00)
		next := 0
		c.element(root, &next, root.Normal)
		c.u8(0x00)
		c.patch32(sizeAt, c.pos()-sizeAt-4)
	}
	c.u32(uint32(len(t.values)))
	descAt := c.pos()
	for _, v := range t.values {
		c.u16(uint16(len(v.Data)))
		c.u8(v.Type)
		c.u8(0)
	}
	for i, v := range t.values {
		if v.Type != TypeBinXML {
			c.buf = append(c.buf, v.Data...)
			continue
		}
		// A nested fragment is written in place: its template, if new to
		// the chunk, is defined inline at a chunk offset.
		start := c.pos()
		c.binXML(v.Node)
		binary.LittleEndian.PutUint16(c.buf[descAt+uint32(4*i):], uint16(c.pos()-start))
	}
	c.u8(0x00)
}
