// Package usnjrnl reads the NTFS change journal ($Extend\$UsnJrnl:$J):
// one record per change to a file (created, written, renamed, deleted,
// closed), with its name, its and its parent's MFT references and a
// time. The journal outlives the files, and often their MFT records, so
// it tells when an extension folder was created and deleted even after
// both were reused.
//
// Own parser rather than go-ntfs's USN_RECORD walk: that one skips
// whatever it cannot read without saying where, and the journal of
// evidence must report the offset and reason of every damaged stretch.
package usnjrnl

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf16"
)

// Record is one USN_RECORD_V2 or V3.
type Record struct {
	Offset    int64 // in the $J stream
	Usn       int64
	Time      time.Time
	Reasons   []string // USN_REASON_* names without the prefix (FILE_CREATE, ...)
	Name      string
	Attrs     uint32
	MFTID     int64
	MFTSeq    uint16
	ParentID  int64
	ParentSeq uint16
	Version   uint16
}

// Problem is a stretch of the journal that is not a record.
type Problem struct {
	Offset int64
	Reason string
}

func (p Problem) Error() string { return fmt.Sprintf("$UsnJrnl:$J offset %d: %s", p.Offset, p.Reason) }

var reasonNames = map[uint32]string{
	0x1: "DATA_OVERWRITE", 0x2: "DATA_EXTEND", 0x4: "DATA_TRUNCATION",
	0x10: "NAMED_DATA_OVERWRITE", 0x20: "NAMED_DATA_EXTEND", 0x40: "NAMED_DATA_TRUNCATION",
	0x100: "FILE_CREATE", 0x200: "FILE_DELETE", 0x400: "EA_CHANGE", 0x800: "SECURITY_CHANGE",
	0x1000: "RENAME_OLD_NAME", 0x2000: "RENAME_NEW_NAME", 0x4000: "INDEXABLE_CHANGE",
	0x8000: "BASIC_INFO_CHANGE", 0x10000: "HARD_LINK_CHANGE", 0x20000: "COMPRESSION_CHANGE",
	0x40000: "ENCRYPTION_CHANGE", 0x80000: "OBJECT_ID_CHANGE", 0x100000: "REPARSE_POINT_CHANGE",
	0x200000: "STREAM_CHANGE", 0x400000: "TRANSACTED_CHANGE", 0x800000: "INTEGRITY_CHANGE",
	0x80000000: "CLOSE",
}

// Reasons names the bits of a USN reason mask (unknown bits in hex).
func Reasons(mask uint32) []string {
	var out []string
	for bit := uint32(1); bit != 0; bit <<= 1 {
		if mask&bit == 0 {
			continue
		}
		if n, ok := reasonNames[bit]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("0x%x", bit))
		}
	}
	sort.Strings(out)
	return out
}

const (
	v2Header = 0x3c // up to the file name
	v3Header = 0x4c
	maxLen   = 0x10000 // a record holds a name of at most 255 UTF-16 units
	chunk    = 1 << 20
)

// filetime converts 100 ns ticks since 1601 to UTC (zero stays zero).
func filetime(t int64) time.Time {
	if t <= 0 {
		return time.Time{}
	}
	return time.Unix(0, 0).UTC().Add(time.Duration(t-116444736000000000) * 100)
}

// Parse reads the records of a $J stream from start to end (offsets in
// the stream; the journal's head is usually sparse, and callers skip
// sparse ranges). Zeros between records (page padding) are skipped
// silently; anything else that is not a record is passed to problem
// once per damaged stretch, and reading resumes at the next 8-byte
// boundary that holds a plausible record.
func Parse(r io.ReaderAt, start, end int64, emit func(Record) error, problem func(Problem)) error {
	buf := make([]byte, 0, min(chunk+maxLen, max(end-start, 0)+8))
	bufAt := int64(-1)
	// window returns the bytes at off (up to maxLen of them).
	window := func(off int64) []byte {
		if bufAt < 0 || off < bufAt || off+8 > bufAt+int64(len(buf)) || (off+maxLen > bufAt+int64(len(buf)) && bufAt+int64(len(buf)) < end) {
			n := min(int64(cap(buf)), end-off)
			buf = buf[:n]
			got, _ := r.ReadAt(buf, off)
			buf, bufAt = buf[:got], off
		}
		return buf[off-bufAt:]
	}
	badFrom := int64(-1)
	off := (start + 7) &^ 7
	for off+8 <= end {
		w := window(off)
		if len(w) < 8 {
			problem(Problem{off, "unreadable"})
			return nil
		}
		length := int64(binary.LittleEndian.Uint32(w))
		if length == 0 {
			off += 8
			continue
		}
		rec, why := decode(w, off, end)
		if why != "" {
			if badFrom < 0 {
				badFrom = off
				problem(Problem{off, why})
			}
			off += 8
			continue
		}
		badFrom = -1
		if err := emit(rec); err != nil {
			return err
		}
		off += (length + 7) &^ 7
	}
	return nil
}

// decode reads the record at the start of w, or says why it is none.
func decode(w []byte, off, end int64) (Record, string) {
	le := binary.LittleEndian
	if len(w) < 8 {
		return Record{}, "truncated record header"
	}
	length := int64(le.Uint32(w))
	major := le.Uint16(w[4:])
	var hdr int64
	switch major {
	case 2:
		hdr = v2Header
	case 3:
		hdr = v3Header
	default:
		return Record{}, fmt.Sprintf("not a USN record (length %d, major version %d)", length, major)
	}
	if length < hdr || length > maxLen || length%8 != 0 || off+length > end || int64(len(w)) < length {
		return Record{}, fmt.Sprintf("USN record v%d with an impossible length %d", major, length)
	}
	rec := Record{Offset: off, Version: major}
	var p []byte
	if major == 2 {
		frn, prn := le.Uint64(w[8:]), le.Uint64(w[16:])
		rec.MFTID, rec.MFTSeq = int64(frn&0xffffffffffff), uint16(frn>>48)
		rec.ParentID, rec.ParentSeq = int64(prn&0xffffffffffff), uint16(prn>>48)
		p = w[24:]
	} else {
		// 128-bit references: an NTFS volume uses the low 64 bits.
		frn, prn := le.Uint64(w[8:]), le.Uint64(w[24:])
		rec.MFTID, rec.MFTSeq = int64(frn&0xffffffffffff), uint16(frn>>48)
		rec.ParentID, rec.ParentSeq = int64(prn&0xffffffffffff), uint16(prn>>48)
		p = w[40:]
	}
	rec.Usn = int64(le.Uint64(p))
	rec.Time = filetime(int64(le.Uint64(p[8:])))
	rec.Reasons = Reasons(le.Uint32(p[16:]))
	rec.Attrs = le.Uint32(p[28:])
	nameLen, nameOff := int64(le.Uint16(p[32:])), int64(le.Uint16(p[34:]))
	// A record's USN is its offset in $J: anything else is not a
	// record here (garbage that happens to look like a header).
	if rec.Usn != off {
		return Record{}, fmt.Sprintf("USN record v%d whose USN %d is not its offset", major, rec.Usn)
	}
	if nameLen%2 != 0 || nameOff < hdr || nameOff+nameLen > length {
		return Record{}, fmt.Sprintf("USN record whose name (offset %d, length %d) lies outside it (length %d)", nameOff, nameLen, length)
	}
	u := make([]uint16, nameLen/2)
	for i := range u {
		u[i] = le.Uint16(w[nameOff+int64(i)*2:])
	}
	rec.Name = string(utf16.Decode(u))
	if rec.Time.IsZero() {
		return Record{}, "USN record without a time"
	}
	return rec, ""
}

// Has reports whether the record's reasons include name.
func (r Record) Has(name string) bool {
	for _, n := range r.Reasons {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Base is the $J offset of the first byte of a file holding a journal
// or an excerpt of one: 0 when its first non-zero bytes are not a
// record, else the USN of that record less its offset in the file.
func Base(r io.ReaderAt, size int64) int64 {
	buf := make([]byte, min(size, int64(chunk)))
	n, _ := r.ReadAt(buf, 0)
	buf = buf[:n]
	for off := 0; off+8 <= len(buf); off += 8 {
		if binary.LittleEndian.Uint32(buf[off:]) == 0 {
			continue
		}
		w := buf[off:]
		if len(w) < v2Header+8 {
			return 0
		}
		usn := int64(binary.LittleEndian.Uint64(w[usnField(w):]))
		if usn < int64(off) {
			return 0
		}
		if _, why := decode(w, usn, usn+int64(len(w))); why != "" {
			return 0
		}
		return usn - int64(off)
	}
	return 0
}

// usnField is where the Usn lies in a record of w's version.
func usnField(w []byte) int {
	if binary.LittleEndian.Uint16(w[4:]) == 3 {
		return 40
	}
	return 24
}
