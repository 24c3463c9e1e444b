// Package exchange generates the exchange editions of the azvql hunt
// artifacts: artifacts that use only stock Velociraptor v0.75.2 VQL,
// run the `vql` binary on the endpoint as a Velociraptor tool and
// return its rows with the native artifact's sources and columns. It
// also writes the exchange pack (`vql artifacts export`), the offline
// collection container (`vql artifacts collect --output FILE.zip`) and
// holds the list of stock VQL `vql artifacts verify --stock` checks
// against. docs/exchange.md describes all three.
package exchange

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/builtins"
)

// Prefix is prepended to a native artifact's name to name its exchange
// edition: Linux.Azure.RunCommand -> Exchange.Linux.Azure.RunCommand.
const Prefix = "Exchange."

// VqlBinaryParameter names the extra parameter of every edition.
const VqlBinaryParameter = "VqlBinary"

// StdoutBufferLength is the execve length= of the editions (bytes of
// stderr kept per row; vql writes its rows to files, not to stdout).
const StdoutBufferLength = 1048576

var huntName = regexp.MustCompile(`^(Linux|Windows|Generic)\.Azure\.[A-Za-z0-9_]+$`)

// Tool is one platform's build of vql, declared as a Velociraptor tool.
type Tool struct {
	Name   string `json:"name"`
	OS     string `json:"os"`   // info().OS
	Arch   string `json:"arch"` // info().Architecture
	Binary string `json:"binary"`
	URL    string `json:"url,omitempty"`
	// Hash is the SHA-256 (hex) of the binary the pack was exported
	// with (PinTools). A declared tool with a hash is known to
	// Velociraptor's inventory without being downloaded: collecting an
	// edition then needs the tool only when the edition fetches it
	// (VqlBinary empty), not when the collection is compiled.
	Hash string `json:"sha256,omitempty"`
}

// ToolsFor are the tools an edition of the native artifact declares:
// its OS's for Linux.* and Windows.*, all of them for Generic.*.
func ToolsFor(native string, tools []Tool) []Tool {
	var os string
	switch {
	case strings.HasPrefix(native, "Linux."):
		os = "linux"
	case strings.HasPrefix(native, "Windows."):
		os = "windows"
	default:
		return tools
	}
	var res []Tool
	for _, t := range tools {
		if t.OS == os {
			res = append(res, t)
		}
	}
	return res
}

// PinTools sets each tool's Hash from its binary in dir (the `make
// cross` output folder); every binary must be there.
func PinTools(tools []Tool, dir string) ([]Tool, error) {
	res := append([]Tool(nil), tools...)
	var missing []string
	for i := range res {
		path := filepath.Join(dir, res[i].Binary)
		data, err := os.ReadFile(path)
		if err != nil {
			missing = append(missing, path)
			continue
		}
		sum := sha256.Sum256(data)
		res[i].Hash = hex.EncodeToString(sum[:])
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("tool binaries missing (build them with make cross): %s", strings.Join(missing, ", "))
	}
	return res, nil
}

// Tools are the platforms the editions support: the tool name is
// Azvql_<OS>_<Architecture> as info() reports them, the binary the
// `make cross` output.
func Tools(urlBase string) []Tool {
	tools := []Tool{
		{Name: "Azvql_linux_amd64", OS: "linux", Arch: "amd64", Binary: "vql-linux-amd64"},
		{Name: "Azvql_linux_arm64", OS: "linux", Arch: "arm64", Binary: "vql-linux-arm64"},
		{Name: "Azvql_windows_amd64", OS: "windows", Arch: "amd64", Binary: "vql-windows-amd64.exe"},
	}
	if urlBase != "" {
		for i := range tools {
			tools[i].URL = strings.TrimRight(urlBase, "/") + "/" + tools[i].Binary
		}
	}
	return tools
}

// Options tune the generated editions.
type Options struct {
	// ToolsURL, when set, is where the tools are downloaded from
	// (URL/<binary>); else the admin uploads them (serve_locally).
	ToolsURL string
	// Tools, when set, replace Tools(ToolsURL): pinned ones (PinTools).
	Tools []Tool
}

func (o Options) tools() []Tool {
	if o.Tools != nil {
		return o.Tools
	}
	return Tools(o.ToolsURL)
}

// Edition is one generated exchange artifact.
type Edition struct {
	Name   string // Exchange.Linux.Azure.RunCommand
	Native string // Linux.Azure.RunCommand
	Path   string // Exchange/Linux/Azure/RunCommand.yaml
	YAML   string
}

// ResultFile is the name vql gives a source's results in its
// collection folder (results/<this>), as Velociraptor's container does.
func ResultFile(fullSourceName string) string {
	return builtins.SanitizeForZip(fullSourceName) + ".json"
}

// q quotes a string for YAML and VQL alike (a JSON string is both).
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// vqlString is a single-quoted VQL string literal.
func vqlString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var vqlKeywords = map[string]bool{
	"select": true, "from": true, "where": true, "and": true, "or": true, "not": true,
	"let": true, "as": true, "order": true, "by": true, "group": true, "limit": true,
	"desc": true, "in": true, "null": true, "true": true, "false": true, "explain": true,
	"asc": true,
}

// ident is a column name usable in VQL.
func ident(name string) string {
	if plainIdent.MatchString(name) && !vqlKeywords[strings.ToLower(name)] {
		return name
	}
	return "`" + name + "`"
}

// block writes a YAML literal block (key: |) indented by indent.
func block(b *strings.Builder, indent, key, text string) {
	text = strings.TrimRight(text, "\n ")
	fmt.Fprintf(b, "%s%s: |\n", indent, key)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(b, "%s  %s\n", indent, line)
	}
}

// paramArg is the VQL expression giving a parameter's value as the
// string `vql artifacts collect --args K=V` takes.
func paramArg(p *artifacts.ArtifactParameter) (string, error) {
	n := ident(p.Name)
	switch p.Type {
	case "", "string", "regex", "choices", "hidden":
		return fmt.Sprintf("str(str=%s)", n), nil
	case "bool":
		return fmt.Sprintf("if(condition=%s, then='Y', else='N')", n), nil
	case "timestamp":
		return fmt.Sprintf("if(condition=%s, then=timestamp_format(time=%s, format='RFC3339Nano'), else='')", n, n), nil
	case "int", "int64", "integer", "float":
		return fmt.Sprintf("str(str=%s)", n), nil
	}
	return "", fmt.Errorf("parameter %s: type %q has no exchange conversion", p.Name, p.Type)
}

// Generate writes the exchange edition of a native artifact.
func Generate(native *artifacts.Artifact, schema Schema, opts Options) (*Edition, error) {
	if !huntName.MatchString(native.Name) {
		return nil, fmt.Errorf("%s is not a hunt artifact (Linux|Windows|Generic.Azure.*)", native.Name)
	}
	for _, p := range native.Parameters {
		if p.Name == VqlBinaryParameter {
			return nil, fmt.Errorf("%s already has a parameter %s", native.Name, VqlBinaryParameter)
		}
	}
	name := Prefix + native.Name
	var b strings.Builder

	fmt.Fprintf(&b, "# Generated by `vql artifacts export` from %s (azvql). Do not edit:\n", native.Name)
	fmt.Fprintf(&b, "# regenerate it from the native artifact.\n")
	fmt.Fprintf(&b, "name: %s\n", name)
	if native.Author != "" {
		fmt.Fprintf(&b, "author: %s\n", q(native.Author))
	}
	tools := ToolsFor(native.Name, opts.tools())
	var toolNames, toolBinaries []string
	for _, t := range tools {
		toolNames = append(toolNames, t.Name)
		toolBinaries = append(toolBinaries, t.Name+"="+vqlString(t.Binary))
	}
	block(&b, "", "description", fmt.Sprintf(`Exchange edition of %s for stock Velociraptor clients
(generated from it by azvql's vql artifacts export).

It runs the azvql vql binary on the endpoint with execve():
vql artifacts collect %s --format jsonl --output <tempdir> --args ...
and returns its results with the native artifact's sources, columns
and types. The binary is the Velociraptor tool for the endpoint's
platform (%s), fetched with Generic.Utils.FetchBinary, or the file
%s names when it is set (air-gapped endpoints, tests). Failures of
the tool (no binary, non-zero exit, error output) are logged as
errors, never returned as an empty result.

%s`, native.Name, native.Name, strings.Join(toolNames, ", "), VqlBinaryParameter,
		strings.TrimSpace(native.Description)))
	refs := append(append([]string{}, native.Reference...), native.References...)
	if len(refs) > 0 {
		b.WriteString("\nreference:\n")
		for _, r := range refs {
			fmt.Fprintf(&b, "  - %s\n", q(r))
		}
	}
	b.WriteString("\ntype: CLIENT\n\nrequired_permissions:\n  - EXECVE\n")

	b.WriteString("\ntools:\n")
	for _, t := range tools {
		fmt.Fprintf(&b, "  - name: %s\n", t.Name)
		if t.URL != "" {
			fmt.Fprintf(&b, "    url: %s\n", q(t.URL))
		}
		if t.Hash == "" {
			// The server (or the CLI) downloads the tool from url when
			// the collection is compiled, or the admin uploads it.
			b.WriteString("    serve_locally: true\n")
			continue
		}
		// Pinned: the inventory takes the tool as known (filename and
		// hash) without downloading it, so a collection compiles with no
		// tool available and only FetchBinary (VqlBinary empty) needs it.
		// With a url the endpoints download it from there themselves (a
		// pinned tool is never downloaded by the server); without, from
		// the server once the admin uploaded it.
		fmt.Fprintf(&b, "    filename: %s\n", q(t.Binary))
		fmt.Fprintf(&b, "    hash: %s\n", t.Hash)
		if t.URL == "" {
			b.WriteString("    serve_locally: true\n")
		}
	}

	b.WriteString("\nparameters:\n")
	var argExprs []string
	for _, p := range native.Parameters {
		fmt.Fprintf(&b, "  - name: %s\n", q(p.Name))
		if p.FriendlyName != "" {
			fmt.Fprintf(&b, "    friendly_name: %s\n", q(p.FriendlyName))
		}
		if p.Description != "" {
			fmt.Fprintf(&b, "    description: %s\n", q(strings.TrimSpace(p.Description)))
		}
		if p.Type != "" {
			fmt.Fprintf(&b, "    type: %s\n", p.Type)
		}
		if p.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", q(p.Default))
		}
		if len(p.Choices) > 0 {
			b.WriteString("    choices:\n")
			for _, c := range p.Choices {
				fmt.Fprintf(&b, "      - %s\n", q(c))
			}
		}
		if p.ValidatingRegex != "" {
			fmt.Fprintf(&b, "    validating_regex: %s\n", q(p.ValidatingRegex))
		}
		expr, err := paramArg(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", native.Name, err)
		}
		argExprs = append(argExprs, fmt.Sprintf("'--args=%s=' + %s", p.Name, expr))
	}
	fmt.Fprintf(&b, "  - name: %s\n", VqlBinaryParameter)
	fmt.Fprintf(&b, "    description: %s\n", q("Path of the vql binary on the endpoint. Empty (the default): "+
		"fetch the tool for the endpoint's platform from the server."))

	// The parameters go through an arguments file (kingpin's @file: one
	// argument per line), not argv: execve logs its argv in the flow's
	// log, and a parameter may be a secret (DecryptPassword).
	argv := []string{"VqlPath", "'artifacts'", "'collect'", vqlString(native.Name),
		"'--format'", "'jsonl'", "'--exchange-escape'", "'--output'", "VqlOutput", "'@' + VqlArgsFile"}

	export := fmt.Sprintf(`-- Run vql once for all sources; each source reads its results file.
-- vql escapes top-level strings that Velociraptor's JSON decoder would take for times.
LET VqlUnescape(Value) = if(condition=typeof(x=Value) = 'string' AND Value =~ '^%[5]s',
  then=regex_replace(source=Value, re='^%[5]s', replace=''), else=Value)
-- and the strings one level inside a dict column (the timeline's Detail).
LET VqlUnescapeDict(Value) = if(condition=typeof(x=Value) = '*ordereddict.Dict',
  then=to_dict(item={ SELECT _key, VqlUnescape(Value=_value) AS _value FROM items(item=Value) }), else=Value)
LET VqlTool <= SELECT format(format='Azvql_%%v_%%v', args=[OS, Architecture]) AS Name FROM info()
LET VqlFetched = SELECT OSPath FROM Artifact.Generic.Utils.FetchBinary(ToolName=VqlTool[0].Name)
LET VqlPath <= if(condition=%[1]s, then=%[1]s, else=VqlFetched[0].OSPath)
LET VqlTemp <= tempdir(remove_last=TRUE)
LET VqlOutput <= path_join(components=[VqlTemp, 'collection'])
LET VqlArgsFile <= format(format='%%v', args=[path_join(components=[VqlTemp, 'args.txt'])])
LET VqlArgsWritten <= VqlPath AND copy(accessor='data', dest=VqlArgsFile, filename=join(sep='\n', array=[
  %[6]s ]) + '\n')
LET VqlRun <= SELECT * FROM if(condition=VqlPath AND VqlArgsWritten,
  then={ SELECT * FROM execve(length=%[3]d, argv=[
           %[2]s ]) },
  else={ SELECT * FROM scope()
         WHERE log(level='ERROR', dedup=-1, message='%[4]s: %%v', args=[if(condition=VqlPath,
                   then='could not write the arguments file ' + VqlArgsFile,
                   else='no vql binary: the tool ' + VqlTool[0].Name + ' could not be fetched (this edition declares %[7]s). ' +
                        'Fix: upload it on the server (velociraptor --config server.config.yaml tools upload --name ' +
                        VqlTool[0].Name + ' ' + (get(item=dict(%[8]s), field=VqlTool[0].Name) || 'VQL_BINARY') +
                        '), or set %[1]s to the path of vql on this endpoint')]) AND FALSE })
LET VqlExit <= SELECT ReturnCode FROM VqlRun WHERE Complete OR ReturnCode != 0
LET VqlFailed <= VqlPath AND ( NOT VqlExit OR VqlExit[0].ReturnCode != 0 )
LET VqlLogged <= SELECT * FROM chain(
  a={ SELECT * FROM foreach(row={ SELECT Stdout, Stderr FROM VqlRun },
        query={ SELECT log(level=if(condition=VqlFailed OR _value =~ '^ERROR:', then='ERROR', else='INFO'),
                           dedup=-1, message='vql: %%v', args=[_value]) AS Logged
                FROM foreach(row=split(string=Stderr + Stdout, sep='\r?\n'))
                WHERE _value }) },
  b={ SELECT log(level='ERROR', dedup=-1, message='%[4]s: vql exited with code %%v (%%v)',
                 args=[VqlExit[0].ReturnCode, VqlPath]) AS Logged
      FROM scope() WHERE VqlPath AND VqlExit AND VqlExit[0].ReturnCode != 0 },
  c={ SELECT log(level='ERROR', dedup=-1, message='%[4]s: vql did not complete (%%v)', args=[VqlPath]) AS Logged
      FROM scope() WHERE VqlPath AND VqlArgsWritten AND NOT VqlExit },
  d={ SELECT * FROM foreach(row={ SELECT OSPath FROM glob(globs='log.json', root=VqlOutput) WHERE VqlPath },
        query={ SELECT log(level='WARN', dedup=-1, message='vql: %%v', args=[message]) AS Logged
                FROM parse_jsonl(filename=OSPath) WHERE level = 'WARN' }) })
LET VqlResults <= SELECT Name, OSPath FROM glob(globs='*.json', root=path_join(components=[VqlOutput, 'results']))
`, VqlBinaryParameter, strings.Join(argv, ",\n           "), StdoutBufferLength, name, EscapeMarker,
		strings.Join(argExprs, ",\n  "), strings.Join(toolNames, ", "), strings.Join(toolBinaries, ", "))
	b.WriteString("\n")
	block(&b, "", "export", export)

	b.WriteString("\nsources:\n")
	timeCols := map[string]bool{}
	for _, s := range native.Sources {
		full := artifacts.SourceFullName(native.Name, s.Name)
		cols := schema[full]
		var sel []string
		for _, c := range cols {
			id := ident(c.Name)
			if c.Type == "timestamp" {
				timeCols[c.Name] = true
				sel = append(sel, fmt.Sprintf("if(condition=%s, then=timestamp(string=%s)) AS %s", id, id, id))
			} else if c.Type == "string" || c.Type == "any" {
				sel = append(sel, fmt.Sprintf("VqlUnescape(Value=%s) AS %s", id, id))
			} else if c.Type == "dict" {
				sel = append(sel, fmt.Sprintf("VqlUnescapeDict(Value=%s) AS %s", id, id))
			} else {
				sel = append(sel, id)
			}
		}
		selection := "*"
		if len(sel) > 0 {
			selection = strings.Join(sel, ",\n       ")
		}
		if s.Name != "" {
			fmt.Fprintf(&b, "  - name: %s\n", s.Name)
		} else {
			b.WriteString("  -\n")
		}
		if s.Description != "" {
			fmt.Fprintf(&b, "    description: %s\n", q(strings.TrimSpace(s.Description)))
		}
		query := fmt.Sprintf(`SELECT %s
FROM foreach(row={ SELECT OSPath FROM VqlResults WHERE Name = %s },
             query={ SELECT * FROM parse_jsonl(filename=OSPath) })`, selection, vqlString(ResultFile(full)))
		block(&b, "    ", "query", query)
	}

	if len(timeCols) > 0 {
		var names []string
		for n := range timeCols {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("\ncolumn_types:\n")
		for _, n := range names {
			fmt.Fprintf(&b, "  - name: %s\n    type: timestamp\n", q(n))
		}
	}

	path := strings.ReplaceAll(name, ".", "/") + ".yaml"
	return &Edition{Name: name, Native: native.Name, Path: path, YAML: b.String()}, nil
}

// GenerateAll generates the edition of every hunt artifact in repo.
func GenerateAll(repo *artifacts.Repository, schema Schema, opts Options) ([]*Edition, error) {
	var res []*Edition
	for _, a := range HuntArtifacts(repo) {
		e, err := Generate(a, schema, opts)
		if err != nil {
			return nil, err
		}
		res = append(res, e)
	}
	return res, nil
}

// EscapeMarker prefixes the top-level string values of the results vql
// writes for an exchange edition (collect --exchange-escape) that stock
// Velociraptor's JSON decoder would otherwise alter: ordereddict turns
// every string that parses as RFC 3339 into a time (so
// "2025-06-10T14:06:31.5900000Z" would come back as a timestamp
// "2025-06-10T14:06:31.59Z"), and a string that already starts with
// the marker is escaped too, so the edition's VqlUnescape() (strip one
// leading marker from a string) restores every value exactly.
const EscapeMarker = "~"

// looksLikeTime is the test of ordereddict's decoder (parseValue).
func looksLikeTime(s string) bool {
	if len(s) < 20 || s[10] != 'T' {
		return false
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

// EscapeRow escapes a row's top-level strings in place (see EscapeMarker),
// and the top-level strings of a dict value (the timeline's Detail is a
// whole source row), in a copy: the dict may be shared. The edition
// unescapes both levels (VqlUnescape, VqlUnescapeDict); strings deeper
// down come back as Velociraptor's decoder makes them.
func EscapeRow(row *ordereddict.Dict) {
	for _, item := range row.Items() {
		switch v := item.Value.(type) {
		case string:
			if needsEscape(v) {
				row.Update(item.Key, EscapeMarker+v)
			}
		case *ordereddict.Dict:
			if v != nil && dictNeedsEscape(v) {
				c := ordereddict.NewDict()
				for _, it := range v.Items() {
					if s, ok := it.Value.(string); ok && needsEscape(s) {
						c.Set(it.Key, EscapeMarker+s)
					} else {
						c.Set(it.Key, it.Value)
					}
				}
				row.Update(item.Key, c)
			}
		}
	}
}

func needsEscape(s string) bool { return looksLikeTime(s) || strings.HasPrefix(s, EscapeMarker) }

func dictNeedsEscape(d *ordereddict.Dict) bool {
	for _, it := range d.Items() {
		if s, ok := it.Value.(string); ok && needsEscape(s) {
			return true
		}
	}
	return false
}
