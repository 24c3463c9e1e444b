package timeline

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
)

// Row is one timeline row as the sorter keeps it: the columns typed, the
// source row (Detail) already encoded (codec.go) so a run's size is known
// and a spilled row reads back exactly as it went in.
type Row struct {
	Time          *time.Time
	TimeKind      *string
	Source        string
	Handler       *string
	ExtensionName *string
	SeqNo         *int64
	Summary       string
	Detail        []byte
	OSPath        *string
	TimeConflict  *string

	// Key orders rows; Seq (the order rows were added) breaks its ties,
	// so equal keys come out in the order they went in.
	Key string
	Seq int64
}

// appendRow encodes a row for a spilled run: its length, then its fields.
func appendRow(b []byte, r *Row) []byte {
	var t, n any
	if r.Time != nil {
		t = *r.Time
	}
	if r.SeqNo != nil {
		n = *r.SeqNo
	}
	start := len(b)
	for _, v := range []any{r.Key, r.Seq, t, ptr(r.TimeKind), r.Source, ptr(r.Handler),
		ptr(r.ExtensionName), n, r.Summary, string(r.Detail), ptr(r.OSPath), ptr(r.TimeConflict)} {
		b = appendValue(b, v)
	}
	body := append([]byte(nil), b[start:]...)
	return append(appendUvarint(b[:start], uint64(len(body))), body...)
}

// decodeRow is appendRow's row back (without the length).
func decodeRow(b []byte) (*Row, error) {
	d := &decoder{b: b}
	var f [12]any
	for i := range f {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		f[i] = v
	}
	r := &Row{}
	var ok [4]bool
	r.Key, ok[0] = f[0].(string)
	r.Seq, ok[1] = f[1].(int64)
	r.Source, ok[2] = f[4].(string)
	r.Summary, ok[3] = f[8].(string)
	detail, dok := f[9].(string)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] || !dok || len(d.b) != 0 {
		return nil, errCorrupt
	}
	r.Detail = []byte(detail)
	r.Time = timep(f[2])
	r.TimeKind, r.Handler, r.ExtensionName = strp(f[3]), strp(f[5]), strp(f[6])
	r.SeqNo = intp(f[7])
	r.OSPath, r.TimeConflict = strp(f[10]), strp(f[11])
	return r, nil
}

func (r *Row) size() int {
	return len(r.Key) + len(r.Summary) + len(r.Detail) + 256
}

func less(a, b *Row) bool {
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Seq < b.Seq
}

// Sorter sorts rows by Key in bounded memory: rows are kept until their
// size reaches RunBytes, then that run is sorted and written to a temp
// file in Dir; Each merges the runs (k-way, one row of each in memory).
type Sorter struct {
	Dir      string // temp dir for spilled runs (os.TempDir when empty)
	RunBytes int    // spill when the run held in memory reaches this size

	buf   []*Row
	bytes int
	seq   int64
	runs  []string
}

// DefaultRunBytes keeps a run well under the 128 MB the timeline may use
// in all (a row decoded is a few times its size).
const DefaultRunBytes = 16 << 20

// Add takes one row.
func (s *Sorter) Add(r *Row) error {
	r.Seq = s.seq
	s.seq++
	s.buf = append(s.buf, r)
	s.bytes += r.size()
	limit := s.RunBytes
	if limit <= 0 {
		limit = DefaultRunBytes
	}
	if s.bytes >= limit {
		return s.spill()
	}
	return nil
}

// Len is how many rows were added.
func (s *Sorter) Len() int64 { return s.seq }

// Spilled is how many runs went to temp files.
func (s *Sorter) Spilled() int { return len(s.runs) }

func (s *Sorter) sortBuf() {
	sort.Slice(s.buf, func(i, j int) bool { return less(s.buf[i], s.buf[j]) })
}

func (s *Sorter) spill() error {
	s.sortBuf()
	f, err := os.CreateTemp(s.Dir, "azvql-timeline-*.run")
	if err != nil {
		return fmt.Errorf("timeline: temp file for a sorted run: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	var b []byte
	for _, r := range s.buf {
		b = appendRow(b[:0], r)
		if _, err := w.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("timeline: writing %s: %w", f.Name(), err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("timeline: writing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("timeline: writing %s: %w", f.Name(), err)
	}
	clear(s.buf)
	s.buf = s.buf[:0]
	s.bytes = 0
	return nil
}

// Each calls fn with every row in order until fn returns false. Call
// Close after it, whatever it returns.
func (s *Sorter) Each(fn func(*Row) bool) error {
	if len(s.runs) == 0 {
		s.sortBuf()
		for _, r := range s.buf {
			if !fn(r) {
				return nil
			}
		}
		return nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	// More runs than maxFanIn are merged in groups into longer runs
	// first, so a huge timeline never holds more than maxFanIn files
	// (and read buffers) open.
	for len(s.runs) > maxFanIn {
		if err := s.mergeRuns(maxFanIn); err != nil {
			return err
		}
	}
	return merge(s.runs, fn)
}

// maxFanIn is how many runs are merged at once.
var maxFanIn = 64

// mergeRuns merges the first n runs into one new run at the end.
func (s *Sorter) mergeRuns(n int) error {
	f, err := os.CreateTemp(s.Dir, "azvql-timeline-*.run")
	if err != nil {
		return fmt.Errorf("timeline: temp file for a merged run: %w", err)
	}
	s.runs = append(s.runs, f.Name())
	w := bufio.NewWriterSize(f, 1<<16)
	var b []byte
	var werr error
	err = merge(s.runs[:n], func(r *Row) bool {
		b = appendRow(b[:0], r)
		_, werr = w.Write(b)
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("timeline: writing %s: %w", f.Name(), err)
	}
	for _, name := range s.runs[:n] {
		os.Remove(name)
	}
	s.runs = s.runs[n:]
	return nil
}

// merge calls fn with the rows of the runs in order (k-way, one row of
// each run in memory) until fn returns false.
func merge(runs []string, fn func(*Row) bool) error {
	h := &mergeHeap{}
	defer h.close()
	for _, name := range runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("timeline: reading back %s: %w", name, err)
		}
		src := &runReader{f: f, rd: bufio.NewReaderSize(f, 1<<16), name: name}
		h.srcs = append(h.srcs, src)
		if err := src.next(); err != nil {
			return err
		}
		if src.cur != nil {
			h.live = append(h.live, src)
		}
	}
	heap.Init(h)
	for h.Len() > 0 {
		top := h.live[0]
		if !fn(top.cur) {
			return nil
		}
		if err := top.next(); err != nil {
			return err
		}
		if top.cur == nil {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return nil
}

// Close removes the temp files.
func (s *Sorter) Close() error {
	var first error
	for _, name := range s.runs {
		if err := os.Remove(name); err != nil && first == nil && !os.IsNotExist(err) {
			first = err
		}
	}
	s.runs = nil
	s.buf = nil
	return first
}

type runReader struct {
	f    *os.File
	rd   *bufio.Reader
	name string
	cur  *Row
	buf  []byte
}

// maxRowBytes bounds one spilled row read back (a damaged length must
// not allocate without end).
const maxRowBytes = 1 << 30

func (r *runReader) next() error {
	r.cur = nil
	n, err := binary.ReadUvarint(r.rd)
	if err == io.EOF {
		return nil
	}
	if err == nil && n > maxRowBytes {
		err = errCorrupt
	}
	if err == nil {
		if uint64(cap(r.buf)) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		_, err = io.ReadFull(r.rd, r.buf)
	}
	if err == nil {
		r.cur, err = decodeRow(r.buf)
	}
	if err != nil {
		return fmt.Errorf("timeline: reading back %s: %w", r.name, err)
	}
	return nil
}

type mergeHeap struct {
	live []*runReader
	srcs []*runReader
}

func (h *mergeHeap) Len() int           { return len(h.live) }
func (h *mergeHeap) Less(i, j int) bool { return less(h.live[i].cur, h.live[j].cur) }
func (h *mergeHeap) Swap(i, j int)      { h.live[i], h.live[j] = h.live[j], h.live[i] }
func (h *mergeHeap) Push(x any)         { h.live = append(h.live, x.(*runReader)) }
func (h *mergeHeap) Pop() any {
	n := len(h.live)
	x := h.live[n-1]
	h.live = h.live[:n-1]
	return x
}
func (h *mergeHeap) close() {
	for _, s := range h.srcs {
		s.f.Close()
	}
}
