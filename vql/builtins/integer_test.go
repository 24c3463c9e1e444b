package builtins

import "testing"

func TestInteger(t *testing.T) {
	for _, c := range []struct {
		in   interface{}
		want int64
	}{
		{"0x10", 16}, {"010", 8}, {"0b11", 3}, {"-7", -7}, {"z", 0}, {"", 0},
		{3.9, 3}, {-3.9, -3}, {float32(2.5), 2}, {uint32(4000000000), 4000000000},
		{int8(-5), -5}, {uint16(7), 7}, {true, 0}, {nil, 0},
	} {
		if got := integer(c.in); got != c.want {
			t.Errorf("integer(%#v) = %d, want %d", c.in, got, c.want)
		}
	}
}
