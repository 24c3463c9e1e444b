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
		"1. Build the binaries and export the pack pinned to them: `make cross` then\n" +
		"   `bin/vql artifacts export --tools-dir bin --output azvql-exchange.zip` in the azvql repository.\n" +
		"2. Add the artifacts to the server: copy the `Exchange/` folder into a folder named by the server's\n" +
		"   `Frontend.artifact_definitions_directory` (or `--definitions`), or upload this zip in the GUI\n" +
		"   (View Artifacts > Upload Artifact Pack).\n" +
		"3. Upload the tools of the platforms you collect from, on the server (a Linux edition declares the\n" +
		"   Linux tools only, a Windows edition the Windows tool, `Generic.*` all three):\n" +
		"   `velociraptor --config server.config.yaml tools upload --name Azvql_linux_amd64 vql-linux-amd64`\n" +
		"   (or in the GUI: open an Exchange artifact, Tools, upload), or export the pack with\n" +
		"   `--tools-url URL` where URL serves the binaries.\n" +
		"4. Collect or hunt any artifact below. An endpoint that cannot fetch tools (air-gapped, no tool\n" +
		"   uploaded): copy the binary there and set `VqlBinary` to its path; with a pack exported with\n" +
		"   `--tools-dir` nothing then needs the tool.\n\n" +
		"Failures of the tool (no binary, a non-zero exit, error output) are logged as errors in the\n" +
		"collection's log, never returned as a silently empty result. Full instructions: `docs/exchange.md`\n" +
		"in the azvql repository.\n\n")
	pinned := len(tools) > 0 && tools[0].Hash != ""
	if pinned {
		b.WriteString("## Tools\n\n| tool | endpoint (info() OS / Architecture) | binary | SHA-256 |\n|---|---|---|---|\n")
		for _, t := range tools {
			fmt.Fprintf(&b, "| `%s` | %s / %s | `%s` | `%s` |\n", t.Name, t.OS, t.Arch, t.Binary, t.Hash)
		}
	} else {
		b.WriteString("## Tools\n\n| tool | endpoint (info() OS / Architecture) | binary |\n|---|---|---|\n")
		for _, t := range tools {
			fmt.Fprintf(&b, "| `%s` | %s / %s | `%s` |\n", t.Name, t.OS, t.Arch, t.Binary)
		}
		b.WriteString("\nNot pinned (exported without `--tools-dir`): Velociraptor resolves the declared tools when a\n" +
			"collection starts, so they must be uploaded or served even for a collection with `VqlBinary`.\n")
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
