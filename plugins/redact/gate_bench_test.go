package redact

import "testing"

// gateLines are messages of a waagent.log as tools/loggen writes them
// (the records of a Run Command handler: an Executing command with its
// environment JSON, a Command: record with the handler's output, and
// short state lines), none holding a secret.
var gateLines = [][]byte{
	[]byte(`Executing command: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9/bin/run-command-handler-shim enable with environment variables: {"AZURE_GUEST_AGENT_UNINSTALL_CMD_EXIT_CODE": "NOT_RUN", "AZURE_GUEST_AGENT_EXTENSION_PATH": "/var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9", "AZURE_GUEST_AGENT_EXTENSION_VERSION": "1.3.9", "AZURE_GUEST_AGENT_WIRE_PROTOCOL_ADDRESS": "168.63.129.16", "ConfigSequenceNumber": "1", "ConfigExtensionName": "runcmd1", "AZURE_GUEST_AGENT_EXTENSION_SUPPORTED_FEATURES": "[{\"Key\": \"ExtensionTelemetryPipeline\", \"Value\": \"1.0\"}]"}`),
	[]byte("Command: bin/run-command-shim enable\n[stdout]\nWriting a placeholder status file indicating progress before forking: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/status/1.status\n+ nohup /var/lib/waagent/Microsoft.CPlat.Core.RunCommandLinux-1.0.5/bin/extension enable\ntime=2024-01-01T00:06:24Z version=v1.0.5/git@23423cf-clean operation=enable seq=1 event=\"step 0\"\ntime=2024-01-01T00:06:24Z version=v1.0.5/git@b70e7ac-clean operation=enable seq=1 event=\"step 1\"\n[stderr]\n"),
	[]byte("Writing a placeholder status file indicating progress before forking: /var/lib/waagent/Microsoft.CPlat.Core.RunCommandHandlerLinux-1.3.9/status/1.status"),
	[]byte("Requested extension state: enabled"),
	[]byte("[Enable] current handler state is: enabled"),
	[]byte("Enable extension: [bin/run-command-handler-shim enable]"),
	[]byte("Collected 5 events for extension: Microsoft.CPlat.Core.RunCommandLinux"),
	[]byte("[HEARTBEAT] Agent WALinuxAgent-2.10.0.8 is running as the goal state agent [DEBUG HeartbeatCounter: 2;HeartbeatId: B37C5821-B6F5-0598-7592-1E668A5BDF2C;DroppedPackets: 0;UpdateGSErrors: 0;AutoUpdate: 1;UpdateMode: SelfUpdate]"),
}

// BenchmarkGate: MayHoldSecret over log messages that hold no secret
// (the whole text is scanned), in MB of text per second.
func BenchmarkGate(b *testing.B) {
	n := 0
	for _, l := range gateLines {
		n += len(l)
	}
	b.SetBytes(int64(n))
	for i := 0; i < b.N; i++ {
		for _, l := range gateLines {
			if MayHoldSecret(l) {
				b.Fatalf("gate says yes for %q", l)
			}
		}
	}
}
