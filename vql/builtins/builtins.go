package builtins

import (
	"www.velocidex.com/golang/vfilter"
)

// Entry names one built-in for the README and `vql plugins`.
type Entry struct {
	Name    string
	Kind    string // "plugin" or "function"
	Summary string
}

// List is every built-in the package provides, in the order the docs
// show them. TestListMatchesRegistration keeps it in step with
// Plugins() and Functions(); docs/builtins.md is generated from it
// (go test ./vql/host -run TestBuiltinsDoc -update).
var List = []Entry{
	{"glob", "plugin", "Files matching glob patterns (*, ?, [..], ** recursion, {a,b}), Velociraptor's columns."},
	{"stat", "plugin", "One file's details (glob's columns without Globs)."},
	{"stat", "function", "One file's details as a dict, NULL if absent."},
	{"read_file", "plugin", "A file's content in chunks: Data, Offset, Filename."},
	{"read_file", "function", "A file's content (up to length bytes, default 4 MiB) as a string."},
	{"hash", "function", "MD5, SHA1 and SHA256 of a file (hashselect= to choose)."},
	{"upload", "function", "Store a file with the configured uploader; NULL and a log line when there is none."},
	{"parse_lines", "plugin", "A file's lines as rows {Line} (gzip aware, BOM dropped)."},
	{"parse_jsonl", "plugin", "A JSON-lines file as rows."},
	{"parse_evtx", "plugin", "Windows event log (.evtx) records: System, EventData or UserData, Message; damaged chunks logged and skipped."},
	{"parse_mft", "plugin", "Every record of an extracted $MFT (in use or not): names, path, sizes, $STANDARD_INFORMATION and $FILE_NAME times, as Velociraptor's (go-ntfs)."},
	{"parse_usn", "plugin", "USN change journal records of an NTFS volume or an extracted $J: Usn, Timestamp, Filename, OSPath, Reason, as Velociraptor's (go-ntfs)."},
	{"parse_journald", "plugin", "systemd journal entries (online, archived, damaged; compressed fields decoded): System and EventData, or raw fields."},
	{"parse_csv", "plugin", "A CSV file (or, with accessor='data', a CSV string) as rows, cells typed as Velociraptor does."},
	{"parse_json", "function", "A JSON object string as an ordered dict."},
	{"parse_json_array", "function", "A JSON array string as a list."},
	{"parse_json_array", "plugin", "A JSON array string as rows."},
	{"parse_string_with_regex", "function", "Capture groups of regexes applied to a string, as a dict."},
	{"parse_records_with_regex", "plugin", "Records matched by regexes in a file: FullPath and capture groups."},
	{"regex_replace", "function", "Replace regex matches in a string ($1 or a lambda)."},
	{"timestamp", "function", "Convert epoch numbers, strings, Windows/Cocoa/HFS+ times to a UTC time."},
	{"timestamp_format", "function", "Format a time (Go layout or a name such as RFC3339)."},
	{"now", "function", "Current time in seconds since the epoch (the scope's clock)."},
	{"basename", "function", "Last component of a path."},
	{"dirname", "function", "Path without its last component."},
	{"path_join", "function", "Join path components."},
	{"base64decode", "function", "Decode standard base64; NULL on error."},
	{"base64encode", "function", "Encode a string as standard base64."},
	{"utf16", "function", "Decode UTF-16LE bytes to a string."},
	{"strip", "function", "Trim white space, or a given prefix/suffix."},
	{"lowcase", "function", "Lower-case a string."},
	{"upcase", "function", "Upper-case a string."},
	{"atoi", "function", "Parse an integer (0x and 0 prefixes understood)."},
	{"int", "function", "Truncate or parse to an integer."},
	{"str", "function", "Convert a value to a string."},
	{"join", "function", "Join a list of strings with a separator."},
	{"log", "function", "Write a message to the query log (deduplicated)."},
	{"format", "function", "Velociraptor's format(): fmt.Sprintf with times as RFC 3339 UTC."},
	{"get", "function", "Velociraptor's get(): item (default the scope), member (dotted path) or field, default."},
}

// Plugins returns the built-in plugins.
func Plugins() []vfilter.PluginGeneratorInterface {
	return []vfilter.PluginGeneratorInterface{
		GlobPlugin{},
		StatPlugin{},
		ReadFilePlugin{},
		ParseLinesPlugin{},
		ParseJsonlPlugin{},
		ParseJsonArrayPlugin{},
		ParseRecordsWithRegex{},
		ParseCSVPlugin{},
		ParseEvtxPlugin{},
		ParseMFTPlugin{},
		ParseUSNPlugin{},
		ParseJournaldPlugin{},
	}
}

// Functions returns the built-in functions. timestamp, get and format replace
// vfilter's own, as in Velociraptor.
func Functions() []vfilter.FunctionInterface {
	return []vfilter.FunctionInterface{
		StatFunction{},
		ReadFileFunction{},
		HashFunction{},
		UploadFunction{},
		ParseJsonFunction{},
		ParseJsonArray{},
		ParseStringWithRegex{},
		RegexReplace{},
		TimestampFunction{},
		TimestampFormatFunction{},
		NowFunction{},
		BasenameFunction{},
		DirnameFunction{},
		PathJoinFunction{},
		Base64Decode{},
		Base64Encode{},
		UTF16{},
		Strip{},
		Lowcase{},
		Upcase{},
		Atoi{},
		Int{},
		Str{},
		Join{},
		Log{},
		GetFunction{},
		Format{},
	}
}

// Protocols returns the operator protocols Velociraptor adds: comparing
// a time with a string parses the string, t.String is RFC 3339 in UTC,
// a time is true after the epoch, bool = "Y", dict + - * dict, empty
// dicts and lists are false, =~ on dicts (their JSON), times and
// numbers (their %v form).
func Protocols() []vfilter.Any {
	return []vfilter.Any{
		TimeLtString{}, TimeGtString{}, TimeAssociative{},
		BoolTime{}, BoolEq{}, BoolDict{},
		AddDict{}, SubDict{}, MulDict{},
		RegexDict{}, GenericRegex{},
	}
}
