package exchange

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/azvql/azvql/vql/artifacts"
)

// PackREADME is the name of the pack's README member; PackTools the
// tool definitions.
const (
	PackREADME = "README.md"
	PackTools  = "tools.json"
)

// firstParagraph is the text up to the first blank line, on one line.
func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(s), " ")
}

func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// README writes the pack's README: what each edition answers, its
// parameters and sources, and the tools.
func README(natives []*artifacts.Artifact, editions []*Edition, schema Schema, tools []Tool) string {
	var b strings.Builder
	b.WriteString("# azvql exchange pack\n\n")
	b.WriteString("Artifacts for stock Velociraptor (v0.75.2 or later) clients that find and explain Azure VM extension\n" +
		"activity (Run Command v1 and v2, Custom Script Extension) on Windows and Linux endpoints. Each\n" +
		"`Exchange.<Name>` is generated from the azvql artifact `<Name>`: it runs the azvql `vql` binary\n" +
		"on the endpoint as a Velociraptor tool (`execve()` of\n" +
		"`vql artifacts collect <Name> --format jsonl --output <tempdir> --args ...`) and returns its rows\n" +
		"with the native artifact's sources, columns and types (times as timestamps).\n\n")
	b.WriteString("## Install\n\n" +
		"1. Build the binaries: `make cross` in the azvql repository (`bin/vql-linux-amd64`,\n" +
		"   `bin/vql-linux-arm64`, `bin/vql-windows-amd64.exe`).\n" +
		"2. Add the artifacts to the server: copy the `Exchange/` folder into a folder named by the server's\n" +
		"   `Frontend.artifact_definitions_directory` (or `--definitions`), or upload this zip in the GUI\n" +
		"   (View Artifacts > Upload Artifact Pack).\n" +
		"3. Upload each binary as its tool, on the server:\n" +
		"   `velociraptor --config server.config.yaml tools upload --name Azvql_linux_amd64 vql-linux-amd64`\n" +
		"   (and the other two; or in the GUI: open an Exchange artifact, Tools, upload), or export the pack\n" +
		"   with `vql artifacts export --tools-url URL` where URL serves the binaries.\n" +
		"4. Collect or hunt any artifact below. An endpoint that cannot fetch tools from the server: copy the\n" +
		"   binary there and set `VqlBinary` to its path.\n\n" +
		"Failures of the tool (no binary, a non-zero exit, error output) are logged as errors in the\n" +
		"collection's log, never returned as a silently empty result. Full instructions: `docs/exchange.md`\n" +
		"in the azvql repository.\n\n")
	b.WriteString("## Tools\n\n| tool | endpoint (info() OS / Architecture) | binary |\n|---|---|---|\n")
	for _, t := range tools {
		fmt.Fprintf(&b, "| `%s` | %s / %s | `%s` |\n", t.Name, t.OS, t.Arch, t.Binary)
	}
	b.WriteString("\n## Artifacts\n")
	byName := map[string]*artifacts.Artifact{}
	for _, a := range natives {
		byName[a.Name] = a
	}
	for _, e := range editions {
		a := byName[e.Native]
		if a == nil {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\nEdition of `%s` (`%s`). %s\n\n", e.Name, e.Native, e.Path,
			firstParagraph(a.Description))
		b.WriteString("| parameter | type | default | meaning |\n|---|---|---|---|\n")
		for _, p := range a.Parameters {
			t := p.Type
			if t == "" {
				t = "string"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Name, t, mdCell(p.Default), mdCell(p.Description))
		}
		fmt.Fprintf(&b, "| `%s` | string |  | path of the vql binary on the endpoint; empty: fetch the tool |\n\n",
			VqlBinaryParameter)
		b.WriteString("| source | columns |\n|---|---|\n")
		for _, s := range a.Sources {
			full := artifacts.SourceFullName(a.Name, s.Name)
			var cols []string
			for _, c := range schema[full] {
				if c.Type == "timestamp" {
					cols = append(cols, c.Name+" (timestamp)")
				} else {
					cols = append(cols, c.Name)
				}
			}
			name := s.Name
			if name == "" {
				name = "(unnamed)"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", name, mdCell(strings.Join(cols, ", ")))
		}
	}
	return b.String()
}

// WritePack writes the exchange pack zip: the editions (at their
// Path), README.md and tools.json.
func WritePack(w io.Writer, natives []*artifacts.Artifact, editions []*Edition, schema Schema,
	tools []Tool, mtime time.Time) error {
	z := zip.NewWriter(w)
	add := func(name string, data []byte) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	for _, e := range editions {
		if err := add(e.Path, []byte(e.YAML)); err != nil {
			return err
		}
	}
	if err := add(PackREADME, []byte(README(natives, editions, schema, tools))); err != nil {
		return err
	}
	tj, _ := json.MarshalIndent(tools, "", " ")
	if err := add(PackTools, append(tj, '\n')); err != nil {
		return err
	}
	return z.Close()
}
