package builtins

// A reader of systemd journal files, written from the format's public
// specification (systemd's docs/JOURNAL_FILE_FORMAT.md): a header, then
// an arena of 8-byte aligned objects, each with a 16-byte object header
// (type, flags, size). Entries (type 3) list the offsets of data objects
// (type 1) holding FIELD=value payloads, compressed (XZ, LZ4, ZSTD) when
// the object's flags say so. Compact files (incompatible flag 16) use
// 4-byte entry items and a data payload 8 bytes further on.
//
// The reader walks the arena object by object, as Velociraptor does, so
// entries are found without the entry arrays or hash tables (which an
// online or damaged file may not have finished). A broken object header
// is reported and the walk resumes at the next plausible object.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

const (
	journalSignature = "LPKSHHRH"

	jObjData  = 1
	jObjEntry = 3
	jObjTag   = 7

	jFlagXZ   = 1 // object flags: payload compression
	jFlagLZ4  = 2
	jFlagZSTD = 4

	jIncompatCompact = 16

	jObjectHeader = 16
	jEntryItems   = 48 // entry: seqnum, realtime, monotonic, boot_id, xor_hash
	jDataPayload  = 48 // data: hash, next_hash, next_field, entry, entry_array, n_entries
	jCompactExtra = 8  // compact data: tail_entry_array_offset, tail_entry_array_n_entries

	// journalMaxField caps a decompressed payload (journald's own default
	// maximum field size is far lower): a forged size cannot exhaust memory.
	journalMaxField = 64 << 20
	// journalMaxObject caps an object read into memory.
	journalMaxObject = 256 << 20
)

// JournalHeader is what the reader uses of the file header.
type JournalHeader struct {
	Compatible, Incompatible uint32
	State                    uint8 // 0 offline, 1 online, 2 archived
	HeaderSize, ArenaSize    uint64
	Entries                  uint64
}

// JournalEntry is one entry: its sequence number, realtime (µs since
// the epoch) and FIELD=value items in file order.
type JournalEntry struct {
	Seq       uint64
	Realtime  uint64
	Monotonic uint64
	Items     [][]byte
}

type journalReader struct {
	r      io.ReaderAt
	size   int64
	h      JournalHeader
	issue  func(string)
	zstd   *zstd.Decoder
	issues int
}

// ReadJournal calls fn for each entry of a journal file, in file order;
// issue gets a line per problem (the rest is still read). fn returning
// false stops.
func ReadJournal(r io.ReaderAt, size int64, issue func(string), fn func(*JournalEntry) bool) error {
	jr := &journalReader{r: r, size: size, issue: issue}
	if err := jr.header(); err != nil {
		return err
	}
	defer func() {
		if jr.zstd != nil {
			jr.zstd.Close()
		}
	}()
	return jr.walk(fn)
}

func (jr *journalReader) header() error {
	var b [120]byte
	n, err := jr.r.ReadAt(b[:], 0)
	if n < len(b) {
		return fmt.Errorf("not a journal file: %d bytes, too short for a header (%v)", n, err)
	}
	if string(b[:8]) != journalSignature {
		return errors.New("not a journal file: no LPKSHHRH signature")
	}
	le := binary.LittleEndian
	jr.h = JournalHeader{Compatible: le.Uint32(b[8:]), Incompatible: le.Uint32(b[12:]), State: b[16],
		HeaderSize: le.Uint64(b[88:]), ArenaSize: le.Uint64(b[96:]), Entries: le.Uint64(b[112:])}
	if jr.h.HeaderSize < 120 || jr.h.HeaderSize%8 != 0 || jr.h.HeaderSize > uint64(jr.size) {
		return fmt.Errorf("bad header size %d", jr.h.HeaderSize)
	}
	if jr.h.State == 1 {
		jr.report("the file is online (was being written): its last objects may be incomplete")
	}
	return nil
}

func (jr *journalReader) report(format string, args ...interface{}) {
	jr.issues++
	if jr.issue != nil && jr.issues <= 100 {
		jr.issue(fmt.Sprintf(format, args...))
	}
}

func (jr *journalReader) compact() bool { return jr.h.Incompatible&jIncompatCompact != 0 }

// objectHeader reads the type, flags and size at off; ok is false when
// they cannot be an object of this file.
func (jr *journalReader) objectHeader(off, end int64) (typ, flags uint8, size int64, ok bool) {
	var b [jObjectHeader]byte
	if off+jObjectHeader > end {
		return 0, 0, 0, false
	}
	if _, err := jr.r.ReadAt(b[:], off); err != nil {
		return 0, 0, 0, false
	}
	size = int64(binary.LittleEndian.Uint64(b[8:]))
	typ, flags = b[0], b[1]
	for _, c := range b[2:8] {
		if c != 0 {
			return typ, flags, size, false
		}
	}
	ok = typ >= jObjData && typ <= jObjTag && flags <= jFlagXZ|jFlagLZ4|jFlagZSTD &&
		size >= jObjectHeader && off+size <= end
	return typ, flags, size, ok
}

func (jr *journalReader) walk(fn func(*JournalEntry) bool) error {
	end := jr.arenaEnd()
	if jr.h.ArenaSize > uint64(jr.size)-jr.h.HeaderSize {
		jr.report("arena ends at %d beyond the file's %d bytes (truncated): read to the end of the file",
			jr.h.HeaderSize+jr.h.ArenaSize, jr.size)
	}
	off := int64(jr.h.HeaderSize)
	for off+jObjectHeader <= end {
		typ, _, size, ok := jr.objectHeader(off, end)
		if !ok {
			if typ == 0 && size == 0 && jr.zeroFrom(off, end) {
				return nil // the unused, zeroed tail of the arena
			}
			next := jr.resync(off+8, end)
			if next < 0 {
				jr.report("bad object header at offset %d: nothing readable after it", off)
				return nil
			}
			jr.report("bad object header at offset %d: %d bytes skipped", off, next-off)
			off = next
			continue
		}
		if typ == jObjEntry {
			e, err := jr.entry(off, size)
			if err != nil {
				jr.report("entry at offset %d: %v", off, err)
			} else if !fn(e) {
				return nil
			}
		}
		off += (size + 7) &^ 7
	}
	return nil
}

// zeroFrom: the file holds only zeros from off to end (checked in
// blocks; an online file's arena is zero-filled beyond its tail).
func (jr *journalReader) zeroFrom(off, end int64) bool {
	buf := make([]byte, 64<<10)
	for off < end {
		n := int64(len(buf))
		if end-off < n {
			n = end - off
		}
		if _, err := jr.r.ReadAt(buf[:n], off); err != nil {
			return false
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		off += n
	}
	return true
}

// resync finds the next 8-byte aligned offset holding a plausible
// entry or data object header, or -1.
func (jr *journalReader) resync(off, end int64) int64 {
	off = (off + 7) &^ 7
	for ; off+jObjectHeader <= end; off += 8 {
		if typ, _, _, ok := jr.objectHeader(off, end); ok && (typ == jObjEntry || typ == jObjData) {
			return off
		}
	}
	return -1
}

func (jr *journalReader) read(off, n int64) ([]byte, error) {
	if n < 0 || n > journalMaxObject || off < 0 || off+n > jr.size {
		return nil, fmt.Errorf("%d bytes at offset %d are outside the file", n, off)
	}
	b := make([]byte, n)
	if _, err := jr.r.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

func (jr *journalReader) entry(off, size int64) (*JournalEntry, error) {
	b, err := jr.read(off, size)
	if err != nil {
		return nil, err
	}
	if size < jObjectHeader+jEntryItems {
		return nil, fmt.Errorf("entry of %d bytes is too short", size)
	}
	le := binary.LittleEndian
	e := &JournalEntry{Seq: le.Uint64(b[16:]), Realtime: le.Uint64(b[24:]), Monotonic: le.Uint64(b[32:])}
	items := b[jObjectHeader+jEntryItems:]
	step := 16
	if jr.compact() {
		step = 4
	}
	for i := 0; i+step <= len(items); i += step {
		var dataOff int64
		if step == 4 {
			dataOff = int64(le.Uint32(items[i:]))
		} else {
			dataOff = int64(le.Uint64(items[i:]))
		}
		payload, err := jr.data(dataOff)
		if err != nil {
			jr.report("entry %d at offset %d, item %d: %v", e.Seq, off, i/step, err)
			continue
		}
		e.Items = append(e.Items, payload)
	}
	return e, nil
}

// arenaEnd is where the arena ends, within the file (the header's
// sizes are untrusted: no overflow, never beyond the file).
func (jr *journalReader) arenaEnd() int64 {
	if jr.h.ArenaSize > uint64(jr.size)-jr.h.HeaderSize {
		return jr.size
	}
	return int64(jr.h.HeaderSize + jr.h.ArenaSize)
}

// data is the (decompressed) payload of the data object at off.
func (jr *journalReader) data(off int64) ([]byte, error) {
	end := jr.arenaEnd()
	typ, flags, size, ok := jr.objectHeader(off, end)
	if !ok || typ != jObjData || off%8 != 0 {
		return nil, fmt.Errorf("no data object at offset %d", off)
	}
	start := int64(jObjectHeader + jDataPayload)
	if jr.compact() {
		start += jCompactExtra
	}
	if size < start {
		return nil, fmt.Errorf("data object at offset %d is too short", off)
	}
	payload, err := jr.read(off+start, size-start)
	if err != nil {
		return nil, err
	}
	switch {
	case flags&jFlagZSTD != 0:
		if jr.zstd == nil {
			if jr.zstd, err = zstd.NewReader(nil, zstd.WithDecoderMaxMemory(journalMaxField), zstd.WithDecoderConcurrency(1)); err != nil {
				return nil, err
			}
		}
		return jr.zstd.DecodeAll(payload, nil)
	case flags&jFlagXZ != 0:
		if err := xzDictOK(payload); err != nil {
			return nil, fmt.Errorf("xz data object at offset %d: %v", off, err)
		}
		zr, err := xz.NewReader(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("xz data object at offset %d: %v", off, err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, journalMaxField+1))
		if err == nil && len(out) > journalMaxField {
			err = errors.New("decompressed payload too large")
		}
		return out, err
	case flags&jFlagLZ4 != 0:
		return lz4Payload(payload)
	}
	return payload, nil
}

// xzDictOK checks the LZMA2 dictionary size the first block declares
// (xz file format 1.0.4: stream header, block header, filter flags): the
// decoder allocates it whole, so a forged size could take gigabytes.
func xzDictOK(p []byte) error {
	const streamHeader = 12
	bad := errors.New("unreadable xz block header")
	if len(p) < streamHeader+2 {
		return bad
	}
	h := p[streamHeader:]
	size := (int(h[0]) + 1) * 4
	if h[0] == 0 || size > len(h) {
		return bad
	}
	h, flags := h[2:size], h[1]
	varint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && i < len(h); i++ {
			v |= uint64(h[i]&0x7f) << (7 * i)
			if h[i]&0x80 == 0 {
				h = h[i+1:]
				return v, true
			}
		}
		return 0, false
	}
	for _, bit := range []byte{0x40, 0x80} { // compressed and uncompressed sizes
		if flags&bit != 0 {
			if _, ok := varint(); !ok {
				return bad
			}
		}
	}
	for n := int(flags&3) + 1; n > 0; n-- {
		id, ok1 := varint()
		plen, ok2 := varint()
		if !ok1 || !ok2 || plen > uint64(len(h)) {
			return bad
		}
		if id == 0x21 && plen == 1 { // LZMA2: one property byte, the dictionary size
			d := h[0] & 0x3f
			if d > 40 {
				return bad
			}
			if d >= 2*(26-11) { // 2 << 26 = 128 MiB and more
				return fmt.Errorf("LZMA2 dictionary property %d too large", d)
			}
		}
		h = h[plen:]
	}
	return nil
}

// lz4Payload: journald's LZ4 payload is the uncompressed size (64-bit
// little endian) and one LZ4 block.
func lz4Payload(p []byte) ([]byte, error) {
	if len(p) < 8 {
		return nil, errors.New("lz4 payload too short")
	}
	n := binary.LittleEndian.Uint64(p)
	if n > journalMaxField {
		return nil, fmt.Errorf("lz4 payload of %d bytes too large", n)
	}
	return lz4Block(p[8:], int(n))
}

// lz4Block decodes one LZ4 block (the public block format: sequences
// of a token, literals, a 2-byte match offset and a match length).
func lz4Block(src []byte, size int) ([]byte, error) {
	dst := make([]byte, 0, size)
	bad := errors.New("corrupt lz4 block")
	i := 0
	for i < len(src) {
		token := src[i]
		i++
		lit := int(token >> 4)
		if lit == 15 {
			for {
				if i >= len(src) {
					return nil, bad
				}
				c := src[i]
				i++
				lit += int(c)
				if c != 255 {
					break
				}
			}
		}
		if i+lit > len(src) || len(dst)+lit > size {
			return nil, bad
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if i == len(src) {
			break // the last sequence has literals only
		}
		if i+2 > len(src) {
			return nil, bad
		}
		offset := int(src[i]) | int(src[i+1])<<8
		i += 2
		m := int(token & 15)
		if m == 15 {
			for {
				if i >= len(src) {
					return nil, bad
				}
				c := src[i]
				i++
				m += int(c)
				if c != 255 {
					break
				}
			}
		}
		m += 4
		if offset == 0 || offset > len(dst) || len(dst)+m > size {
			return nil, bad
		}
		from := len(dst) - offset
		for k := 0; k < m; k++ { // byte by byte: the match may overlap what it writes
			dst = append(dst, dst[from+k])
		}
	}
	if len(dst) != size {
		return nil, bad
	}
	return dst, nil
}
