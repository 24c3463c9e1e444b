package evtxwriter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

const (
	fileHeaderBlock = 0x1000
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	recordHeader    = 24
)

// Record is one event record: its id and write time (the record header's
// copy of TimeCreated) and the Event element.
type Record struct {
	ID      uint64
	Written time.Time
	Event   *Node
}

// Writer collects records and writes the file. Records go into chunks
// in the order they are added; a chunk is closed when the next record
// does not fit, so every chunk re-defines the strings and templates it
// uses, as Windows does.
type Writer struct {
	chunks [][]byte
	cur    *chunkBuf
	first  uint64 // first record number/id of cur
	last   uint64
	count  int
	lastID uint64
	lastAt uint32
	in     uint64 // records in cur
}

// New returns an empty writer.
func New() *Writer { return &Writer{} }

// Add appends one record. Windows' ids increase by one; the writer
// keeps whatever ids it is given (a re-written damaged log has gaps).
func (w *Writer) Add(r Record) error {
	rec, err := w.encode(r)
	if err != nil {
		return err
	}
	if chunkHeaderSize+len(rec) > chunkSize {
		return fmt.Errorf("record %d does not fit in a chunk (%d bytes)", r.ID, len(rec))
	}
	if w.cur != nil && len(w.cur.buf)+len(rec) > chunkSize {
		w.closeChunk()
	}
	if w.cur == nil {
		w.cur = newChunkBuf()
		w.first = r.ID
		w.in = 0
	}
	// Encode again in the chunk that holds it: names and templates are
	// written inline at their first use in each chunk.
	start := w.cur.pos()
	w.cur.buf = append(w.cur.buf, rec[:recordHeader]...)
	w.cur.binXML(r.Event)
	w.finishRecord(start)
	w.in++
	w.last = r.ID
	w.lastID = r.ID
	w.lastAt = start
	w.count++
	return nil
}

// encode sizes a record as the first in a fresh chunk (its largest
// form: every name and the template inline).
func (w *Writer) encode(r Record) ([]byte, error) {
	if r.Event == nil {
		return nil, errors.New("record without an event")
	}
	c := newChunkBuf()
	start := c.pos()
	c.buf = append(c.buf, recordHeaderBytes(r)...)
	c.binXML(r.Event)
	finish(c, start)
	return c.buf[start:], nil
}

func recordHeaderBytes(r Record) []byte {
	b := make([]byte, recordHeader)
	copy(b, "**\x00\x00")
	binary.LittleEndian.PutUint64(b[8:], r.ID)
	binary.LittleEndian.PutUint64(b[16:], ToFileTime(r.Written))
	return b
}

func (w *Writer) finishRecord(start uint32) { finish(w.cur, start) }

// finish pads the record to 8 bytes and writes its size at both ends.
func finish(c *chunkBuf, start uint32) {
	for (len(c.buf)+4-int(start))%8 != 0 {
		c.u8(0)
	}
	size := c.pos() + 4 - start
	c.u32(size)
	c.patch32(start+4, size)
}

// closeChunk writes the chunk header (record range, offsets, string and
// template tables, both CRC32s) and pads the chunk to 64 KiB.
func (w *Writer) closeChunk() {
	c := w.cur
	b := c.buf
	free := uint32(len(b))
	b = append(b, make([]byte, chunkSize-len(b))...)
	copy(b, "ElfChnk\x00")
	// Record numbers count the chunk's records (readers walk them);
	// they equal the ids when the ids have no gaps, as on Windows.
	binary.LittleEndian.PutUint64(b[8:], w.first)
	binary.LittleEndian.PutUint64(b[16:], w.first+w.in-1)
	binary.LittleEndian.PutUint64(b[24:], w.first) // first record id
	binary.LittleEndian.PutUint64(b[32:], w.last)  // last record id
	binary.LittleEndian.PutUint32(b[40:], 128)     // header size
	binary.LittleEndian.PutUint32(b[44:], w.lastAt)
	binary.LittleEndian.PutUint32(b[48:], free)
	for i, off := range c.stringTab {
		binary.LittleEndian.PutUint32(b[0x80+4*i:], off)
	}
	for i, off := range c.tmplTab {
		binary.LittleEndian.PutUint32(b[0x180+4*i:], off)
	}
	binary.LittleEndian.PutUint32(b[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	h := crc32.NewIEEE()
	h.Write(b[:0x78])
	h.Write(b[0x80:chunkHeaderSize])
	binary.LittleEndian.PutUint32(b[0x7c:], h.Sum32())
	w.chunks = append(w.chunks, b)
	w.cur = nil
}

// WriteTo writes the file: header block, then the chunks.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.cur != nil {
		w.closeChunk()
	}
	if len(w.chunks) == 0 {
		return 0, errors.New("no records")
	}
	h := make([]byte, fileHeaderBlock)
	copy(h, "ElfFile\x00")
	binary.LittleEndian.PutUint64(h[8:], 0)
	binary.LittleEndian.PutUint64(h[16:], uint64(len(w.chunks)-1))
	binary.LittleEndian.PutUint64(h[24:], w.lastID+1)
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1) // version 3.1, as in the real samples
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], fileHeaderBlock)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(w.chunks)))
	binary.LittleEndian.PutUint32(h[120:], 0) // flags: clean
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	total := int64(0)
	n, err := out.Write(h)
	total += int64(n)
	if err != nil {
		return total, err
	}
	for _, c := range w.chunks {
		n, err := out.Write(c)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
