package goalstate

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
)

// Caps on what is read into memory.
const (
	maxZipInMemory = 64 << 20 // a zip read whole (accessor without ReaderAt, or a damaged zip)
	maxMember      = 64 << 20 // one decompressed member
	maxDocument    = 64 << 20 // one goal-state file
)

// maxZipTotal bounds what one zip's members decompress to in all: a
// hostile zip can point many central-directory entries at one compressed
// bomb, each allowed maxMember. A variable so a test can lower it.
var maxZipTotal = 256 << 20

// zipMember is one member read from a zip.
type zipMember struct {
	Name string
	Data []byte
	// Err says why Data may be incomplete (cut short, bad checksum,
	// unsupported compression); Data holds what could be read.
	Err error
}

// errCut marks a member whose data ends before its declared size.
var errCut = errors.New("member data ends early")

// readZip reads the members of a zip whose names match accepts and hands
// each to fn (fn returning false stops). Problems with the zip itself are
// reported through logf; a zip that ends early or has a damaged central
// directory is read member by member from its local headers, up to the
// damage. The zip is read through io.ReaderAt when the file offers it,
// else capped into memory. Nothing is written to disk.
func readZip(f evidence.File, size int64, accepts func(string) bool, fn func(zipMember) bool, logf func(string, ...interface{})) {
	fn = boundTotal(fn, logf)
	var (
		ra  io.ReaderAt
		mem []byte
	)
	if r, ok := f.(io.ReaderAt); ok {
		if s, ok := f.(io.Seeker); ok {
			if n, err := s.Seek(0, io.SeekEnd); err == nil {
				size = n
			}
		}
		ra = r
	} else {
		data, truncated, err := evidence.ReadAllCapped(f, maxZipInMemory)
		if err != nil {
			logf("read error after %d bytes: %v; reading what was read", len(data), err)
		}
		if truncated {
			logf("zip is larger than %d MiB; reading its first %d MiB only", maxZipInMemory>>20, maxZipInMemory>>20)
		}
		mem = data
		ra = bytes.NewReader(data)
		size = int64(len(data))
	}

	zr, err := zip.NewReader(ra, size)
	if err == nil || errors.Is(err, zip.ErrInsecurePath) {
		for _, zf := range zr.File {
			if !accepts(zf.Name) {
				nestedZip(zf.Name, logf)
				continue
			}
			m := zipMember{Name: zf.Name}
			rc, err := zf.Open()
			if err != nil {
				m.Err = err
			} else {
				data, truncated, rerr := evidence.ReadAllCapped(rc, maxMember)
				rc.Close()
				m.Data = data
				switch {
				case rerr != nil:
					m.Err = rerr
				case truncated:
					m.Err = fmt.Errorf("member larger than %d MiB; first %d MiB read", maxMember>>20, maxMember>>20)
				}
			}
			if !fn(m) {
				return
			}
		}
		return
	}

	// No usable central directory: the zip ends early or is damaged.
	if mem == nil {
		n := size
		if n > maxZipInMemory {
			n = maxZipInMemory
		}
		if n < 0 {
			n = 0
		}
		data, _, rerr := evidence.ReadAllCapped(io.NewSectionReader(ra, 0, n), n)
		if rerr != nil {
			logf("read error after %d bytes: %v", len(data), rerr)
		}
		mem = data
	}
	if !bytes.HasPrefix(mem, []byte("PK\x03\x04")) {
		logf("not a zip file (%v)", err)
		return
	}
	logf("zip ends early or is damaged (%v); reading the members before the damage from their local headers", err)
	scanLocalHeaders(mem, accepts, fn, logf)
}

// nestedZip reports a zip member that is itself a zip: the agent writes
// none and never reads one, so its content is not a goal state the agent
// had; it is named so the analyst can extract and look at it.
func nestedZip(name string, logf func(string, ...interface{})) {
	if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".zip") {
		logf("member %s: a zip inside the zip: not opened (the agent neither writes nor reads nested zips; extract it to examine it)", name)
	}
}

// boundTotal wraps fn so that reading stops, with a message, once the
// members handed over exceed maxZipTotal bytes in all.
func boundTotal(fn func(zipMember) bool, logf func(string, ...interface{})) func(zipMember) bool {
	total := 0
	return func(m zipMember) bool {
		total += len(m.Data)
		if !fn(m) {
			return false
		}
		if total > maxZipTotal {
			logf("members decompress to more than %d MiB in all; the members after %s are not read", maxZipTotal>>20, m.Name)
			return false
		}
		return true
	}
}

var (
	sigLocal   = []byte("PK\x03\x04")
	sigCentral = []byte("PK\x01\x02")
	sigEnd     = []byte("PK\x05\x06")
)

// scanLocalHeaders walks a zip's local file headers in order, without the
// central directory. A member cut by the end of the data is returned with
// the bytes that could be decompressed and errCut.
// It is long because it is one pass over the zip's bytes that checks every
// header field against the data left before using it (crafted or cut
// zips); the bounds checks read best in sequence.
func scanLocalHeaders(data []byte, accepts func(string) bool, fn func(zipMember) bool, logf func(string, ...interface{})) {
	le16 := func(b []byte) int { return int(binary.LittleEndian.Uint16(b)) }
	le32 := func(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
	pos := 0
	for pos+30 <= len(data) {
		if !bytes.Equal(data[pos:pos+4], sigLocal) {
			if bytes.Equal(data[pos:pos+4], sigCentral) || bytes.Equal(data[pos:pos+4], sigEnd) {
				return // the members are done
			}
			next := bytes.Index(data[pos+1:], sigLocal)
			if next < 0 {
				return
			}
			pos += 1 + next
			continue
		}
		flags := le16(data[pos+6:])
		method := uint16(le16(data[pos+8:]))
		csize := uint64(le32(data[pos+18:]))
		nlen := le16(data[pos+26:])
		elen := le16(data[pos+28:])
		nameEnd := pos + 30 + nlen
		if nameEnd > len(data) {
			logf("the zip ends inside a member's header at offset %d", pos)
			return
		}
		name := string(data[pos+30 : nameEnd])
		start := nameEnd + elen
		if start > len(data) {
			logf("member %s: the zip ends inside its header", name)
			return
		}
		if csize == 0xFFFFFFFF {
			csize = zip64CompressedSize(data[nameEnd:start])
		}
		descriptor := flags&0x8 != 0
		encrypted := flags&0x1 != 0

		var comp []byte
		cut := false
		if descriptor {
			comp = data[start:] // the deflate stream ends itself
		} else {
			end := uint64(start) + csize
			if end > uint64(len(data)) {
				end = uint64(len(data))
				cut = true
			}
			comp = data[start:end]
		}

		m := zipMember{Name: name}
		consumed := len(comp)
		want := accepts(name)
		if !want {
			nestedZip(name, logf)
		}
		switch {
		case encrypted:
			m.Err = errors.New("member is encrypted")
		case method == zip.Store:
			if descriptor {
				// Size unknown: the data runs to the data descriptor or
				// the next header, else to the end of what is there.
				end := len(comp)
				for _, sig := range [][]byte{[]byte("PK\x07\x08"), sigLocal, sigCentral} {
					if i := bytes.Index(comp, sig); i >= 0 && i < end {
						end = i
					}
				}
				if end == len(comp) {
					cut = true
				}
				m.Data = comp[:end]
				consumed = end
			} else {
				m.Data = comp
			}
		case method == zip.Deflate:
			if want || descriptor {
				br := bytes.NewReader(comp)
				out, truncated, rerr := evidence.ReadAllCapped(flate.NewReader(br), maxMember)
				consumed = len(comp) - br.Len()
				m.Data = out
				switch {
				case truncated:
					m.Err = fmt.Errorf("member larger than %d MiB; first %d MiB read", maxMember>>20, maxMember>>20)
				case rerr != nil:
					if errors.Is(rerr, io.ErrUnexpectedEOF) || cut {
						m.Err = errCut
					} else {
						m.Err = rerr
					}
				}
			}
		default:
			m.Err = fmt.Errorf("unsupported compression method %d", method)
		}
		if cut && m.Err == nil {
			m.Err = errCut
		}
		if want && !fn(m) {
			return
		}
		if cut {
			return
		}
		next := start + consumed
		if next <= pos {
			next = pos + 1
		}
		if descriptor {
			// Skip the data descriptor: find the next header.
			i := bytes.Index(data[next:], sigLocal)
			j := bytes.Index(data[next:], sigCentral)
			switch {
			case i < 0 && j < 0:
				return
			case i < 0 || (j >= 0 && j < i):
				return
			}
			next += i
		}
		pos = next
	}
}

// zip64CompressedSize reads the compressed size from a local header's
// zip64 extra field (0x0001: uncompressed size, then compressed size).
func zip64CompressedSize(extra []byte) uint64 {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		if id == 0x0001 && n >= 16 {
			return binary.LittleEndian.Uint64(extra[12:20])
		}
		extra = extra[4+n:]
	}
	return 0xFFFFFFFF
}
