package extensions

// The row columns of each plugin of this package, in order (every row
// has all of them; plugins/contract_test.go runs each plugin over every
// fixture tree and checks). docs/plugins-extensions.md describes them.
var (
	HandlerColumns = []string{
		"OS", "Handler", "Version", "OSPath", "State", "HandlerStatus", "MostRecentSeq", "Running", "Pid",
		"PidStart", "Manifest", "Environment", "SettingsCount", "StatusCount", "Mtime",
	}
	SettingsColumns = []string{
		"OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo", "Thumbprint", "Protected",
		"ProtectedSettings", "ProtectedSettingsDecrypted", "DecryptError", "PublicSettings",
		"Command", "CommandField", "CommandNote", "FileUris", "Size", "Mtime", "Empty", "Encoding",
		"Truncated", "ParseError",
	}
	StatusColumns = []string{
		"OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo", "Name", "Operation", "Status",
		"Code", "Message", "StdOut", "StdErr", "ExitCode", "ExecutionState", "StartTime", "EndTime",
		"Timestamp", "TimestampRaw", "Placeholder", "Writer", "Substatus", "Size", "Mtime", "Empty",
		"Encoding", "Truncated", "ParseError",
	}
	AggregateColumns = []string{
		"OS", "OSPath", "Mtime", "SnapshotTime", "AgentVersion", "AgentStatus",
		"Handler", "HandlerVersion", "HandlerStatus", "HandlerCode", "HandlerMessage", "ExtensionName",
		"SeqNo", "Name", "Operation", "Status", "Code", "Message", "StdOut", "StdErr", "ExitCode",
		"ExecutionState", "Timestamp", "Substatus", "Encoding", "ParseError",
	}
)

// Columns are each plugin's declared row columns (vqlkit.Declared).
func (HandlersPlugin) Columns() []string        { return HandlerColumns }
func (SettingsPlugin) Columns() []string        { return SettingsColumns }
func (StatusPlugin) Columns() []string          { return StatusColumns }
func (ExecutionsPlugin) Columns() []string      { return ExecutionColumns }
func (AggregateStatusPlugin) Columns() []string { return AggregateColumns }
