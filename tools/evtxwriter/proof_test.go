package evtxwriter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/evtx"
)

var samples = filepath.Join("..", "..", "tests", "fixtures", "evtx", "samples")

// parse reads a file as Velociraptor's parse_evtx does: every chunk
// GetChunks finds, each record's Event.
func parse(t *testing.T, data []byte) []*ordereddict.Dict {
	t.Helper()
	chunks, err := evtx.GetChunks(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ordereddict.Dict
	for _, c := range chunks {
		records, _ := c.Parse(0)
		for _, r := range records {
			m, ok := r.Event.(*ordereddict.Dict)
			if !ok {
				continue
			}
			if ev, ok := ordereddict.GetMap(m, "Event"); ok {
				out = append(out, ev)
			}
		}
	}
	return out
}

func write(t *testing.T, records []Record) []byte {
	t.Helper()
	w := New()
	for _, r := range records {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jsonOf(t *testing.T, v interface{}) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// (c) Every record of every real sample, re-written by the writer, is
// read back by the Velocidex parser as the same event.
func TestRewriteRealSamples(t *testing.T) {
	var files []string
	filepath.Walk(samples, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 19 {
		t.Fatalf("expected the 19 samples under %s, found %d", samples, len(files))
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		events := parse(t, data)
		var records []Record
		for i, ev := range events {
			r, err := FromParsed(ev)
			if err != nil {
				t.Fatalf("%s: event %d: %v", f, i, err)
			}
			records = append(records, r)
		}
		again := parse(t, write(t, records))
		if len(again) != len(events) {
			t.Errorf("%s: %d events re-read from %d", f, len(again), len(events))
			continue
		}
		for i := range events {
			if a, b := jsonOf(t, events[i]), jsonOf(t, again[i]); a != b {
				t.Errorf("%s: event %d differs:\n orig: %s\n  new: %s", f, i, a, b)
				break
			}
		}
		total += len(events)
	}
	if total < 1800 {
		t.Errorf("only %d events re-written", total)
	}
	t.Logf("%d events of %d files re-written identically", total, len(files))
}
