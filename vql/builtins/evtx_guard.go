package builtins

import "encoding/binary"

// The Velocidex parser trusts two things a damaged or forged record can
// abuse: the substitution count that follows a template definition it
// has not seen (it loops and appends that many times, up to 4 billion)
// and template body lengths (a short one makes the same bytes parse again
// at every nesting level, exponentially). evtxRecordSafe walks the
// record's binary XML exactly as the library will, consuming bytes the
// same way, and refuses the record when a count is impossible or the
// walk exceeds a fixed budget; the walker then stops the chunk there
// (reported like any broken record chain) instead of hanging the query.

const (
	evtxMaxSubstitutions = 1 << 14 // a 64 KiB chunk holds fewer 4-byte descriptors
	evtxScanBudget       = 1 << 18 // tokens and values per record, nesting included
	evtxChunkBudget      = 1 << 20 // per chunk: a real 64 KiB chunk needs at most about 64 Ki
)

type evtxScan struct {
	buf    []byte
	off    int
	known  map[uint32]bool // template ids the library has seen in this chunk
	budget *int
	unsafe *bool
}

// The Consume* helpers mirror the library's: past the end of the chunk
// they return 0 and do not advance.
func (s *evtxScan) u8() uint8 {
	if s.off+1 > len(s.buf) {
		return 0
	}
	s.off++
	return s.buf[s.off-1]
}

func (s *evtxScan) u16() uint16 {
	if s.off+2 > len(s.buf) {
		return 0
	}
	s.off += 2
	return binary.LittleEndian.Uint16(s.buf[s.off-2:])
}

func (s *evtxScan) u32() uint32 {
	if s.off+4 > len(s.buf) {
		return 0
	}
	s.off += 4
	return binary.LittleEndian.Uint32(s.buf[s.off-4:])
}

func (s *evtxScan) fixed(n int) {
	if s.off+n <= len(s.buf) {
		s.off += n
	}
}

func (s *evtxScan) name() {
	at := int(s.u32())
	if at == s.off {
		s.off += 6
		n := int(s.u16()) + 1
		s.fixed(n * 2)
	}
}

func (s *evtxScan) spend(n int) bool {
	*s.budget -= n
	if *s.budget < 0 {
		*s.unsafe = true
	}
	return !*s.unsafe
}

func (s *evtxScan) copyAt(off int) *evtxScan {
	c := *s
	c.off = off
	return &c
}

// binXML mirrors the library's ParseBinXML.
func (s *evtxScan) binXML(template bool) {
	for s.spend(1) {
		switch tag := s.u8(); tag {
		case 0x00:
			return
		case 0x01, 0x41:
			if template {
				s.off += 2
			}
			s.u32()
			s.name()
			if tag == 0x41 {
				s.u32()
			}
		case 0x02, 0x03, 0x04, 0x07, 0x47, 0x08, 0x48, 0x09, 0x49, 0x0a, 0x0b:
		case 0x05, 0x45:
			s.u8()
			n := int(s.u16())
			s.fixed(n * 2)
		case 0x06, 0x46:
			s.name()
		case 0x0c:
			if !s.templateInstance() {
				return
			}
		case 0x0d, 0x0e:
			s.u16()
			if s.u8() == 0 {
				s.u8()
			}
		case 0x0f:
			s.off += 3
		default:
			return
		}
	}
}

// templateInstance mirrors ParseTemplateInstance; false ends the parse.
func (s *evtxScan) templateInstance() bool {
	if s.u8() != 0x01 {
		return false
	}
	id := s.u32()
	if id == 0 {
		return false
	}
	s.u32() // definition offset
	n := int(s.u32())
	if n > 10*1024 {
		n = 10 * 1024
	}
	if !s.known[id] {
		s.off += 16
		bodyLen := int(s.u32())
		s.known[id] = true
		s.copyAt(s.off).binXML(true)
		s.off += bodyLen
		n = int(s.u32())
		if n > evtxMaxSubstitutions {
			*s.unsafe = true
			return false
		}
	}
	if !s.spend(n) {
		return false
	}
	type desc struct{ size, kind int }
	descs := make([]desc, n)
	for i := range descs {
		descs[i].size = int(s.u16())
		descs[i].kind = int(s.u16())
	}
	for _, d := range descs {
		if !s.value(d.size, d.kind) {
			return false
		}
	}
	return true
}

// value consumes one substitution value as the library does.
func (s *evtxScan) value(size, kind int) bool {
	switch kind {
	case 0x00:
		s.off += size
	case 0x04:
		s.fixed(1)
	case 0x06:
		s.fixed(2)
	case 0x07, 0x08, 0x0b, 0x14:
		s.fixed(4)
	case 0x09, 0x0a, 0x0c, 0x15, 0x11:
		s.fixed(8)
	case 0x0d:
		switch size {
		case 8, 4, 2, 1:
			s.fixed(size)
		}
	case 0x12:
		if s.off+16 <= len(s.buf) {
			if s.off+size > len(s.buf) {
				return false // the library panics here (recovered)
			}
			s.off += size
		}
	case 0x13:
		s.fixed(1)
		s.fixed(1)
		s.fixed(6)
		// The library builds the SID string one part at a time: the
		// cost grows with the square of the size (a real SID is at most
		// 68 bytes).
		if !s.spend(size * size / 256) {
			return false
		}
		for i := 0; i < size-8; i += 4 {
			s.fixed(4)
		}
	case 0x21:
		s.copyAt(s.off).binXML(false)
		s.off += size
	case 0x86, 0x8a, 0x95:
		if s.off+size >= len(s.buf) {
			size = len(s.buf) - s.off - 1
		}
		if s.off > len(s.buf) || size < 0 {
			return false
		}
		s.off += size
	default: // strings, binary, GUID and the rest: size bytes
		s.fixed(size)
	}
	return !*s.unsafe
}

// evtxRecordSafe scans the record at pos of a chunk as the library will
// parse it; known carries the chunk's template ids from record to record
// and chunkBudget what is left of the chunk's budget (thousands of small
// records each just under the record budget would otherwise add up).
func evtxRecordSafe(buf []byte, pos int, known map[uint32]bool, chunkBudget *int) bool {
	budget, unsafe := evtxScanBudget, false
	if *chunkBudget < budget {
		budget = *chunkBudget
	}
	start := budget
	s := &evtxScan{buf: buf, off: pos + 24, known: known, budget: &budget, unsafe: &unsafe}
	s.binXML(false)
	*chunkBudget -= start - budget
	return !unsafe
}
