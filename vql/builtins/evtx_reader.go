package builtins

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"
)

// The on-disk layout the walker checks before handing a chunk to the
// Velocidex library (which parses the binary XML but checks no CRC and
// says nothing about what it skips).
const (
	evtxFileHeaderSize  = 0x80
	evtxChunkSize       = evtx.EVTX_CHUNK_SIZE
	evtxChunkHeaderSize = evtx.EVTX_CHUNK_HEADER_SIZE

	evtxFlagDirty   = 0x1
	evtxFlagNoCRC32 = 0x4
)

// evtxIssue is one thing the walker skipped or found damaged; the plugin
// turns it into a log line naming the file.
type evtxIssue string

// evtxWalker reads an EVTX file chunk by chunk as far as it can: chunks
// whose magic is wrong are skipped (all-zero chunks are unused space, not
// damage), CRC mismatches are reported but the records are still read
// (the library reads them too), and a truncated last chunk yields the
// records that are complete.
type evtxWalker struct {
	r    io.ReaderAt
	size int64

	// Issue receives each problem found (nil: ignored).
	Issue func(evtxIssue)
}

// evtxFileHeader is the part of the file header the walker uses.
type evtxFileHeader struct {
	Magic           [8]byte
	FirstChunk      uint64
	LastChunk       uint64
	NextRecordID    uint64
	HeaderSize      uint32
	MinorVersion    uint16
	MajorVersion    uint16
	HeaderBlockSize uint16
	ChunkCount      uint16
	_               [76]byte
	FileFlags       uint32
	CheckSum        uint32
}

func (w *evtxWalker) issue(format string, args ...interface{}) {
	if w.Issue != nil {
		w.Issue(evtxIssue(fmt.Sprintf(format, args...)))
	}
}

// errNotEvtx is returned for a file that is not an event log at all.
var errNotEvtx = errors.New("File is not an EVTX file (wrong magic).")

// Walk calls emit with each record's Event dict (System, EventData or
// UserData), in file order. emit returning false stops the walk.
func (w *evtxWalker) Walk(emit func(event *ordereddict.Dict) bool) error {
	head := make([]byte, evtxFileHeaderSize)
	if n, _ := w.r.ReadAt(head, 0); n < evtxFileHeaderSize {
		if n >= 8 && string(head[:8]) == evtx.EVTX_HEADER_MAGIC {
			return fmt.Errorf("file header is truncated (%d bytes)", n)
		}
		return errNotEvtx
	}
	var hdr evtxFileHeader
	_ = binary.Read(bytes.NewReader(head), binary.LittleEndian, &hdr)
	if string(hdr.Magic[:]) != evtx.EVTX_HEADER_MAGIC {
		return errNotEvtx
	}
	if hdr.MajorVersion != 3 || hdr.MinorVersion > 2 {
		return fmt.Errorf("Unsupported EVTX version %d.%d.", hdr.MajorVersion, hdr.MinorVersion)
	}
	checkCRC := hdr.FileFlags&evtxFlagNoCRC32 == 0
	if checkCRC && crc32.ChecksumIEEE(head[:0x78]) != hdr.CheckSum {
		w.issue("file header CRC32 mismatch (header values not trusted; chunks read anyway)")
	}
	if hdr.FileFlags&evtxFlagDirty != 0 {
		// Normal for a log taken from a running system (a live collection); worth saying
		// because the header's chunk count and next record id may lag.
		w.issue("log is marked dirty (not closed cleanly): every chunk in the file is read, whatever the header's count")
	}
	start := int64(hdr.HeaderBlockSize)
	if start < evtxFileHeaderSize {
		start = 0x1000
	}

	buf := make([]byte, evtxChunkSize)
	for idx, off := 0, start; off < w.size; idx, off = idx+1, off+evtxChunkSize {
		n, err := w.r.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("chunk %d at offset %#x: %v", idx, off, err)
		}
		for i := n; i < len(buf); i++ {
			buf[i] = 0
		}
		if !w.chunk(idx, off, buf, n, checkCRC, emit) {
			return nil
		}
	}
	return nil
}

// chunk parses one chunk (n bytes of it present) and emits its records;
// false means stop.
func (w *evtxWalker) chunk(idx int, off int64, buf []byte, n int, checkCRC bool,
	emit func(*ordereddict.Dict) bool) bool {
	if string(buf[:8]) != evtx.EVTX_CHUNK_HEADER_MAGIC {
		if !allZero(buf[:n]) {
			w.issue("chunk %d at offset %#x skipped: bad chunk magic %q", idx, off, buf[:8])
		}
		return true
	}
	if n < evtxChunkHeaderSize {
		w.issue("file is truncated at %d bytes: chunk %d at offset %#x has only %d of its 512 header bytes; skipped",
			off+int64(n), idx, off, n)
		return true
	}
	var ch evtx.ChunkHeader
	_ = binary.Read(bytes.NewReader(buf[:evtxChunkHeaderSize]), binary.LittleEndian, &ch)
	if ch.LastEventRecID == 0xffffffffffffffff {
		w.issue("chunk %d at offset %#x skipped: never finished (last record id unset)", idx, off)
		return true
	}
	freeSpace := binary.LittleEndian.Uint32(buf[0x30:])
	if checkCRC {
		hc := crc32.NewIEEE()
		hc.Write(buf[:0x78])
		hc.Write(buf[0x80:evtxChunkHeaderSize])
		if hc.Sum32() != ch.CheckSum {
			w.issue("chunk %d at offset %#x: header CRC32 mismatch; its records are read anyway", idx, off)
		}
		if freeSpace >= evtxChunkHeaderSize && int(freeSpace) <= len(buf) && int(freeSpace) <= n &&
			crc32.ChecksumIEEE(buf[evtxChunkHeaderSize:freeSpace]) != ch.EventRecordCheckSum {
			w.issue("chunk %d at offset %#x: event records CRC32 mismatch; its records are read anyway", idx, off)
		}
	}

	// Walk the record chain as the library will, to know where each
	// record ends (a truncated file cuts the last ones) and where the
	// chain breaks.
	want := int64(ch.LastEventRecNumber) - int64(ch.FirstEventRecNumber) + 1
	complete, chained := int64(0), int64(0)
	known := map[uint32]bool{}
	chunkBudget := evtxChunkBudget
	pos, lastID := evtxChunkHeaderSize, uint64(0)
	for ; chained < want && pos+evtx.EVTX_EVENT_RECORD_SIZE <= len(buf); chained++ {
		if string(buf[pos:pos+4]) != evtx.EVTX_EVENT_RECORD_MAGIC {
			break
		}
		size := int(binary.LittleEndian.Uint32(buf[pos+4:]))
		if size < evtx.EVTX_EVENT_RECORD_SIZE || pos+size > len(buf) {
			break
		}
		if !evtxRecordSafe(buf, pos, known, &chunkBudget) {
			break
		}
		if pos+size <= n {
			complete++
		}
		lastID = binary.LittleEndian.Uint64(buf[pos+8:])
		pos += size
	}
	// A log left dirty by a crash can hold records written after the
	// chunk header was last updated. Records that continue the chain
	// with the next ids and intact size copies are read too (stale
	// records in the chunk's slack have unrelated ids).
	if want > 0 && chained == want {
		first := lastID + 1
		extra := int64(0)
		for pos+evtx.EVTX_EVENT_RECORD_SIZE <= n && string(buf[pos:pos+4]) == evtx.EVTX_EVENT_RECORD_MAGIC {
			size := int(binary.LittleEndian.Uint32(buf[pos+4:]))
			if size < evtx.EVTX_EVENT_RECORD_SIZE+4 || pos+size > n ||
				binary.LittleEndian.Uint32(buf[pos+size-4:]) != uint32(size) ||
				binary.LittleEndian.Uint64(buf[pos+8:]) != lastID+1 ||
				!evtxRecordSafe(buf, pos, known, &chunkBudget) {
				break
			}
			lastID++
			extra++
			pos += size
		}
		if extra > 0 {
			w.issue("chunk %d at offset %#x: %d records past the chunk header's last one recovered (ids %d-%d): the log was not closed cleanly",
				idx, off, extra, first, lastID)
			chained += extra
			complete += extra
		}
	}
	if want > 0 && chained < want && complete == chained {
		w.issue("chunk %d at offset %#x: record chain breaks after %d of %d records (ids %d-%d): %d records skipped",
			idx, off, chained, want, ch.FirstEventRecID, ch.LastEventRecID, want-chained)
	}
	if complete < chained {
		w.issue("file is truncated at %d bytes: chunk %d at offset %#x lost %d of its %d records (ids %d-%d)",
			off+int64(n), idx, off, want-complete, want, ch.FirstEventRecID, ch.LastEventRecID)
	}

	if chained == 0 {
		return true
	}
	// The library walks FirstEventRecNumber..LastEventRecNumber and stops
	// at the first bad magic; bounding the walk by the chain found above
	// gives the same records and keeps a forged count (or a zero record
	// size that would re-read one record) from spinning.
	ch.LastEventRecNumber = ch.FirstEventRecNumber + uint64(chained) - 1
	records, perr := parseChunk(ch, buf)
	if perr != nil {
		w.issue("chunk %d at offset %#x: %v after %d records; the rest of the chunk is skipped", idx, off, perr, len(records))
	}
	for i, rec := range records {
		if n < len(buf) && int64(i) >= complete {
			break // cut by the end of the file
		}
		eventMap, ok := rec.Event.(*ordereddict.Dict)
		if !ok {
			continue
		}
		event, ok := ordereddict.GetMap(eventMap, "Event")
		if !ok {
			continue
		}
		if !emit(event) {
			return false
		}
	}
	return true
}

// parseChunk runs the library's parser on one chunk, turning a panic on
// malformed binary XML into an error.
func parseChunk(ch evtx.ChunkHeader, buf []byte) (records []*evtx.EventRecord, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("binary XML parse failed (%v)", r)
		}
	}()
	c := &evtx.Chunk{Header: ch, Offset: 0, Fd: bytes.NewReader(buf)}
	records, err = c.Parse(0)
	return records, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
