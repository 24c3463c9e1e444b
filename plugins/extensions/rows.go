package extensions

import (
	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/protected"
	"github.com/azvql/azvql/plugins/redact"
	"github.com/azvql/azvql/plugins/vqlkit"
)

// MaxDocBytes caps reads of .settings and .status files (the agent
// itself caps status at 128 KiB; settings are small). Larger files are
// parsed from their first MaxDocBytes and flagged Truncated.
var MaxDocBytes int64 = 32 << 20

// fileMeta is what a row says about the file it came from.
type fileMeta struct {
	OSPath    string
	Size      int64
	Mtime     interface{}
	Truncated bool
	ReadErr   error
}

func metaFromInfo(osPath string, fi evidence.FileInfo) fileMeta {
	return fileMeta{OSPath: osPath, Size: fi.Size, Mtime: vqlkit.Time(fi.Mtime)}
}

func errString(err error) interface{} {
	if err == nil {
		return nil
	}
	return err.Error()
}

// SettingsRow builds an azure_extension_settings row. s may be partial
// (parse error) or nil (unreadable file).
func SettingsRow(m fileMeta, s *Settings, perr error, red bool) *ordereddict.Dict {
	return settingsRow(m, s, perr, red, nil)
}

// settingsColumns are SettingsRow's columns; settingsDecryptColumns
// have the decryption columns after ProtectedSettings (as
// protected.Decrypted.InsertColumns places them).
var (
	settingsColumns = vqlkit.NewColumns("OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo",
		"Thumbprint", "Protected", "ProtectedSettings", "PublicSettings", "Command", "CommandField", "CommandNote",
		"FileUris", "Size", "Mtime", "Empty", "Encoding", "Truncated", "ParseError")
	settingsDecryptColumns = vqlkit.NewColumns("OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo",
		"Thumbprint", "Protected", "ProtectedSettings", protected.ColumnDecrypted, protected.ColumnDecryptError,
		"PublicSettings", "Command", "CommandField", "CommandNote",
		"FileUris", "Size", "Mtime", "Empty", "Encoding", "Truncated", "ParseError")
)

// settingsRow is SettingsRow, with the decryption columns of d when d is
// not nil.
func settingsRow(m fileMeta, s *Settings, perr error, red bool, d *protected.Decrypted) *ordereddict.Dict {
	handler, version := HandlerFromPath(m.OSPath)
	extName, seq, ok := ParseSeqFileName(evidence.ParseEvPath(m.OSPath).Base(), ".settings")
	var seqV interface{}
	if ok {
		seqV = seq
	}
	if s == nil {
		s = &Settings{}
	}
	var pub interface{}
	if s.Public != nil {
		pub = maybeRedact(s.Public, red)
		if red {
			pub = redact.CommandKeys(pub)
		}
	} else if s.PublicRaw != nil {
		pub = maybeRedact(s.PublicRaw, red)
	}
	var uris interface{}
	if len(s.FileUris) > 0 {
		l := make([]interface{}, len(s.FileUris))
		for i, u := range s.FileUris {
			l[i] = redactStr(u, red)
		}
		uris = l
	}
	var empty interface{}
	if m.ReadErr == nil {
		empty = s.Empty
	}
	head := []interface{}{m.OSPath, vqlkit.Str(handler), vqlkit.Str(version), vqlkit.Str(extName), seqV,
		vqlkit.Str(s.Thumbprint), boolOrNil(m, perr == nil || s.Protected, s.Protected), vqlkit.Str(s.ProtectedSettings)}
	tail := []interface{}{pub, vqlkit.Str(redactCmd(s.Command, red)), vqlkit.Str(s.CommandField), vqlkit.Str(s.CommandNote),
		uris, m.Size, m.Mtime, empty, vqlkit.Str(s.Encoding), m.Truncated, parseErr(m, perr)}
	if d == nil {
		return settingsColumns.Row(append(head, tail...)...)
	}
	plain, derr := d.Columns()
	return settingsDecryptColumns.Row(append(append(head, plain, derr), tail...)...)
}

// boolOrNil is v when the file could be read and parsed far enough to
// know it, else NULL.
func boolOrNil(m fileMeta, known bool, v bool) interface{} {
	if m.ReadErr != nil || !known {
		return nil
	}
	return v
}

func parseErr(m fileMeta, perr error) interface{} {
	if m.ReadErr != nil {
		return "read: " + m.ReadErr.Error()
	}
	return errString(perr)
}

// StatusRow builds an azure_extension_status row.
func StatusRow(m fileMeta, s *Status, perr error, red bool) *ordereddict.Dict {
	handler, version := HandlerFromPath(m.OSPath)
	base := evidence.ParseEvPath(m.OSPath).Base()
	extName, seq, ok := ParseSeqFileName(base, ".status")
	if !ok {
		extName, seq, ok = ParseStatusTempName(base)
	}
	var seqV interface{}
	if ok {
		seqV = seq
	}
	if s == nil {
		s = &Status{}
	}
	var subs interface{}
	if len(s.Substatus) > 0 {
		l := make([]interface{}, len(s.Substatus))
		for i, d := range s.Substatus {
			l[i] = maybeRedact(d, red)
		}
		subs = l
	}
	var msg interface{}
	if s.HasMessage {
		msg = redactStr(s.Message, red)
	}
	var placeholder, writer interface{}
	if s.Writer != "" {
		placeholder, writer = s.Placeholder, s.Writer
	}
	var empty interface{}
	if m.ReadErr == nil {
		empty = s.Empty
	}
	return statusColumns.Row(m.OSPath, vqlkit.Str(handler), vqlkit.Str(version), vqlkit.Str(extName), seqV,
		vqlkit.Str(s.Name), vqlkit.Str(s.Operation), vqlkit.Str(s.State), s.Code, msg,
		strPtr(s.StdOut, red), strPtr(s.StdErr, red), vqlkit.Int(s.ExitCode), vqlkit.Str(s.ExecutionState),
		vqlkit.Time(s.StartTime), vqlkit.Time(s.EndTime), vqlkit.Time(s.Timestamp), vqlkit.Str(s.TimestampRaw),
		placeholder, writer, subs, m.Size, m.Mtime, empty, vqlkit.Str(s.Encoding), m.Truncated, parseErr(m, perr))
}

// statusColumns are StatusRow's columns.
var statusColumns = vqlkit.NewColumns("OSPath", "Handler", "HandlerVersion", "ExtensionName", "SeqNo",
	"Name", "Operation", "Status", "Code", "Message", "StdOut", "StdErr", "ExitCode", "ExecutionState",
	"StartTime", "EndTime", "Timestamp", "TimestampRaw", "Placeholder", "Writer", "Substatus",
	"Size", "Mtime", "Empty", "Encoding", "Truncated", "ParseError")

func strPtr(p *string, red bool) interface{} {
	if p == nil {
		return nil
	}
	return redactStr(*p, red)
}

func redactStr(s string, red bool) string {
	if red {
		return redact.String(s)
	}
	return s
}

// redactCmd is redactStr for command text: also the passwords passed on
// command lines (net user, cmdkey /pass:, -Password, ...).
func redactCmd(s string, red bool) string {
	if red {
		return redact.CommandLine(s)
	}
	return s
}

func maybeRedact(v interface{}, red bool) interface{} {
	if red {
		return redact.Value(v)
	}
	return v
}
