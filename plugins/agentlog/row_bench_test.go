package agentlog

import (
	"testing"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/redact"
)

func benchRecord(b *testing.B, line string) *Record {
	var rec *Record
	a := NewAssembler(Options{}, func(r *Record) bool { c := *r; c.Msg = append([]byte(nil), r.Msg...); rec = &c; return true })
	a.Line([]byte(line), false)
	a.Flush()
	return rec
}

func BenchmarkRow(b *testing.B) {
	r := benchRecord(b, "2024-01-01T00:01:29.006471Z INFO ExtHandler ExtHandler [HEARTBEAT] Agent WALinuxAgent-2.10.0.8 is running as the goal state agent [DEBUG HeartbeatCounter: 2;HeartbeatId: B37C5821-B6F5-0598-7592-1E668A5BDF2C;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1;UpdateMode: SelfUpdate]")
	rb := &RowBuilder{Redact: true}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rb.Row(r)
		}
	})
	b.Run("dict16nil", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			d := ordereddict.NewDict()
			for _, k := range Columns {
				d.Set(k, nil)
			}
		}
	})
	b.Run("gate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			redact.MayHoldSecret(r.Msg)
		}
	})
	b.Run("classify+seq", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			classify(r.Msg)
			seqNo(r.Msg, envFacts{})
		}
	})
}
