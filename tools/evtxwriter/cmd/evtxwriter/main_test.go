package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join("..", "..", "testdata", "events.yaml")
	out := filepath.Join(dir, "out.evtx")
	if err := run(ok, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil || len(data) != 0x1000+0x10000 || string(data[:8]) != "ElfFile\x00" {
		t.Fatalf("output: %d bytes, %v", len(data), err)
	}
	bad := map[string]string{
		"typo.yaml":    "events:\n  - chanel: Security\n",
		"type.yaml":    "events:\n  - {channel: Security, time: '2025-03-14T09:12:04Z', data: [{name: X, type: int7, value: 1}]}\n",
		"time.yaml":    "events:\n  - {channel: Security, time: yesterday}\n",
		"empty.yaml":   "events: []\n",
		"sid.yaml":     "events:\n  - {channel: Security, time: '2025-03-14T09:12:04Z', user_id: not-a-sid}\n",
		"missing.yaml": "",
	}
	want := map[string]string{
		"typo.yaml":    "field chanel not found",
		"type.yaml":    `event 1: record 0: data X: unknown value type "int7"`,
		"time.yaml":    "event 1: record 0: time:",
		"empty.yaml":   "no events",
		"sid.yaml":     `event 1: bad SID "not-a-sid"`,
		"missing.yaml": "no such file",
	}
	for name, body := range bad {
		in := filepath.Join(dir, name)
		if name != "missing.yaml" {
			os.WriteFile(in, []byte(body), 0o644)
		}
		err := run(in, filepath.Join(dir, name+".evtx"))
		if err == nil || !strings.Contains(err.Error(), want[name]) || (name != "missing.yaml" && !strings.Contains(err.Error(), in)) {
			t.Errorf("%s: error %v, want one naming the file and %q", name, err, want[name])
		}
	}
}
