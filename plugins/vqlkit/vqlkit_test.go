package vqlkit

import (
	"bytes"
	"context"
	"log"
	"strings"
	"testing"

	"github.com/Velocidex/ordereddict"
	"www.velocidex.com/golang/vfilter"
)

type runArgs struct {
	N      int64 `vfilter:"required,field=n,doc=How many rows."`
	Redact bool  `vfilter:"optional,field=redact,doc=Redact."`
}

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	scope := vfilter.NewScope()
	scope.SetLogger(log.New(&buf, "", 0))
	ctx := context.Background()
	collect := func(args *ordereddict.Dict, body func(a *runArgs, out chan vfilter.Row)) int {
		a := &runArgs{}
		n := 0
		for range Run(ctx, scope, args, "azure_test", a, func(out chan vfilter.Row) { body(a, out) }) {
			n++
		}
		return n
	}
	emit := func(a *runArgs, out chan vfilter.Row) {
		for i := int64(0); i < a.N; i++ {
			Send(ctx, out, ordereddict.NewDict().Set("I", i))
		}
	}
	if n := collect(ordereddict.NewDict().Set("n", 3), emit); n != 3 {
		t.Errorf("rows = %d", n)
	}
	// A missing required argument: a log line naming the plugin, no rows.
	if n := collect(ordereddict.NewDict(), emit); n != 0 || !strings.Contains(buf.String(), "azure_test: ") {
		t.Errorf("rows = %d, log %q", n, buf.String())
	}
	// A panic after some rows: the rows stay, the panic is a log line.
	buf.Reset()
	n := collect(ordereddict.NewDict().Set("n", 2), func(a *runArgs, out chan vfilter.Row) {
		emit(a, out)
		panic("boom")
	})
	if n != 2 || !strings.Contains(buf.String(), "azure_test: internal error: boom") {
		t.Errorf("rows = %d, log %q", n, buf.String())
	}
}

func TestRedactDefault(t *testing.T) {
	if !Redact(ordereddict.NewDict(), false) {
		t.Error("redact must default to true")
	}
	if Redact(ordereddict.NewDict().Set("redact", false), false) {
		t.Error("redact=false must be honoured")
	}
}

func TestNumberInt64(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{int8(-3), -3, true}, {uint16(7), 7, true}, {uint64(1 << 40), 1 << 40, true},
		{float32(2.9), 2, true}, {float64(-2.9), -2, true},
		{"12", 0, false}, {nil, 0, false}, {true, 0, false},
	} {
		if got, ok := NumberInt64(c.in); got != c.want || ok != c.ok {
			t.Errorf("NumberInt64(%#v) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
