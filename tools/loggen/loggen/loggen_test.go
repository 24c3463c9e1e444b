package loggen

import (
	"bytes"
	"testing"
)

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	na, _ := Generate(&a, 256<<10, 7)
	Generate(&b, 256<<10, 7)
	Generate(&c, 256<<10, 8)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same seed, different output")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds, same output")
	}
	if na != int64(a.Len()) || na < 256<<10 || na > 256<<10+64<<10 {
		t.Errorf("size %d", na)
	}
	for _, want := range []string{"Executing command: ", " with environment variables: {", "Command: ", "\n[stdout]\n", "[HEARTBEAT]", "ProcessExtensionsGoalState completed"} {
		if !bytes.Contains(a.Bytes(), []byte(want)) {
			t.Errorf("no %q", want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"200MB": 200 << 20, "50MiB": 50 << 20, "1G": 1 << 30, "4096": 4096, "10k": 10 << 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%s = %d, %v", in, got, err)
		}
	}
	if _, err := ParseSize("lots"); err == nil {
		t.Error("no error")
	}
}
