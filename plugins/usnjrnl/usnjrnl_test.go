package usnjrnl

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// sampleBase is the $J offset of the sample's first byte.
const sampleBase = 0x12a16c30

type based struct {
	r    io.ReaderAt
	base int64
}

func (b based) ReadAt(p []byte, off int64) (int, error) { return b.r.ReadAt(p, off-b.base) }

func parseSample(t testing.TB, data []byte) ([]Record, []Problem) {
	var recs []Record
	var probs []Problem
	err := Parse(based{bytes.NewReader(data), sampleBase}, sampleBase, sampleBase+int64(len(data)),
		func(r Record) error { recs = append(recs, r); return nil },
		func(p Problem) { probs = append(probs, p) })
	if err != nil {
		t.Fatal(err)
	}
	return recs, probs
}

func TestWindowsJournalSample(t *testing.T) {
	data, err := os.ReadFile("testdata/go-ntfs-usn-sample.bin")
	if err != nil {
		t.Fatal(err)
	}
	recs, probs := parseSample(t, data)
	for _, p := range probs {
		t.Errorf("problem in a clean journal: %v", p)
	}
	if len(recs) < 150 {
		t.Fatalf("%d records", len(recs))
	}
	// The first record, as its bytes say (read by hand with xxd): file
	// 0x5188 sequence 3 in folder 0x320 sequence 5, USN 0x12a16c30,
	// reason 0x8000c200, FILETIME 0x01d6ad1f48b2e92b.
	r := recs[0]
	if r.Name != "GenericProvider.dll" || r.Usn != sampleBase || r.Version != 2 || r.MFTID != 0x5188 || r.MFTSeq != 3 ||
		r.ParentID != 0x320 || r.ParentSeq != 5 || strings.Join(r.Reasons, ",") != "BASIC_INFO_CHANGE,CLOSE,FILE_DELETE,INDEXABLE_CHANGE" {
		t.Errorf("first record: %+v", r)
	}
	if got := r.Time.Format(time.RFC3339Nano); got != "2020-10-28T11:41:32.9284395Z" {
		t.Errorf("first time %s", got)
	}
	// Every record in time order within the journal's day, and named.
	creates, deletes := 0, 0
	for _, r := range recs {
		if r.Name == "" || r.Time.Before(time.Date(2020, 10, 27, 0, 0, 0, 0, time.UTC)) || r.Time.After(time.Date(2020, 10, 30, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("record at %d: %q %v", r.Offset, r.Name, r.Time)
		}
		if r.Has("FILE_CREATE") {
			creates++
		}
		if r.Has("FILE_DELETE") {
			deletes++
		}
	}
	if creates == 0 || deletes == 0 {
		t.Errorf("creates %d, deletes %d", creates, deletes)
	}
	t.Logf("%d records, %d creates, %d deletes", len(recs), creates, deletes)
}

// Garbage between records: one problem naming its offset, every record
// after it still read.
func TestGarbageBetweenRecords(t *testing.T) {
	data, _ := os.ReadFile("testdata/go-ntfs-usn-sample.bin")
	clean, _ := parseSample(t, data)
	cut := clean[10].Offset - sampleBase
	bad := append(append(append([]byte(nil), data[:cut]...), bytes.Repeat([]byte("GARBAGE!"), 9)...), data[cut:]...)
	recs, probs := parseSample(t, bad)
	if len(probs) != 1 || probs[0].Offset != sampleBase+cut || !strings.Contains(probs[0].Reason, "not a USN record") {
		t.Errorf("problems %v", probs)
	}
	// Inserted bytes move every later record away from the offset its
	// USN names, so none of them is taken for a record there; the ten
	// before are read.
	if len(recs) != 10 {
		t.Errorf("%d records kept before the garbage, want 10", len(recs))
	}
	// Garbage in place of a record's bytes (same length): the records
	// after it are read.
	bad2 := append([]byte(nil), data...)
	copy(bad2[cut:], bytes.Repeat([]byte{0xff}, int(clean[11].Offset-clean[10].Offset)))
	recs2, probs2 := parseSample(t, bad2)
	if len(probs2) != 1 || len(recs2) != len(clean)-1 {
		t.Errorf("overwritten record: %d problems, %d of %d records", len(probs2), len(recs2), len(clean))
	}
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("testdata/go-ntfs-usn-sample.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:2048], int64(sampleBase))
	f.Add(data[:512], int64(0))
	f.Fuzz(func(t *testing.T, b []byte, base int64) {
		if base < 0 || base > 1<<40 {
			return
		}
		n := 0
		Parse(based{bytes.NewReader(b), base}, base, base+int64(len(b)), func(r Record) error {
			if r.Offset < base || r.Offset >= base+int64(len(b)) || r.Usn != r.Offset {
				t.Fatalf("record outside the data: %+v", r)
			}
			n++
			return nil
		}, func(Problem) {})
		if n > len(b)/v2Header+1 {
			t.Fatalf("%d records from %d bytes", n, len(b))
		}
	})
}

// TestSameAsGoNTFS: go-ntfs's own walk of the sample (the reader its
// test uses) finds the same records, names and times.
func TestSameAsGoNTFS(t *testing.T) {
	data, _ := os.ReadFile("testdata/go-ntfs-usn-sample.bin")
	recs, _ := parseSample(t, data)
	r := based{bytes.NewReader(data), sampleBase}
	ctx := &ntfs.NTFSContext{DiskReader: r, Profile: ntfs.NewNTFSProfile()}
	i := 0
	for rec := ntfs.NewUSN_RECORD(ctx, r, sampleBase); rec != nil; rec = rec.Next(sampleBase + int64(len(data))) {
		if i >= len(recs) {
			t.Fatalf("go-ntfs finds more than our %d records", len(recs))
		}
		if rec.Offset != recs[i].Offset || rec.Filename() != recs[i].Name || !rec.TimeStamp().Time.Equal(recs[i].Time) {
			t.Fatalf("record %d: go-ntfs %d %q %v, ours %d %q %v", i, rec.Offset, rec.Filename(), rec.TimeStamp().Time, recs[i].Offset, recs[i].Name, recs[i].Time)
		}
		i++
	}
	if i != len(recs) {
		t.Errorf("go-ntfs %d records, ours %d", i, len(recs))
	}
}

// BenchmarkParse: the Windows sample's 208 records repeated (each copy
// renumbered so every USN equals its offset) to 32 MiB; reports
// records/s.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/go-ntfs-usn-sample.bin")
	if err != nil {
		b.Fatal(err)
	}
	recs, _ := parseSample(b, data)
	span := (recs[len(recs)-1].Offset - sampleBase + 1024) &^ 7
	var j []byte
	n := 0
	for int64(len(j))+span <= 32<<20 {
		at := int64(len(j))
		j = append(j, make([]byte, span)...)
		for _, r := range recs {
			o := r.Offset - sampleBase
			l := int64(binary.LittleEndian.Uint32(data[o:]))
			rec := j[at+o : at+o+l]
			copy(rec, data[o:o+l])
			binary.LittleEndian.PutUint64(rec[24:], uint64(at+o))
			n++
		}
	}
	b.SetBytes(int64(len(j)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got := 0
		Parse(bytes.NewReader(j), 0, int64(len(j)), func(Record) error { got++; return nil }, func(p Problem) { b.Fatal(p) })
		if got != n {
			b.Fatalf("%d records, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
