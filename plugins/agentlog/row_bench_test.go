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
	// An Executing record of Run Command (as tools/loggen writes it): its
	// Env dict and the facts azure_log_executions reads of it.
	ex := benchRecord(b, `2024-01-01T00:06:21.016677Z INFO ExtHandler [Microsoft.CPlat.Core.RunCommandHandlerLinux.runcmd1-1.3.9] Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9/bin/run-command-handler-shim enable with environment variables: {"AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE": "NOT_RUN", "AZURE_GUEST_AGENT_EXTENSION_PATH": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9", "AZURE_GUEST_AGENT_EXTENSION_VERSION": "1.3.9", "AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "168.63.129.16", "ConfigSequenceNumber": "1", "ConfigExtensionName": "runcmd1", "AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES": "[{\"Key\": \"ExtensionTelemetryPipeline\", \"Value\": \"1.0\"}]"}`)
	b.Run("executing", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rb.Row(ex)
		}
	})
	b.Run("executing-summary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rb.Summary(ex)
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
