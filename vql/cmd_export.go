package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/azvql/azvql/vql/artifacts"
	"github.com/azvql/azvql/vql/exchange"
)

var (
	artifactsExport = artifactsCmd.Command("export",
		"Write the exchange pack: an edition of every hunt artifact for stock Velociraptor clients "+
			"(Exchange.<Name>, runs vql as a tool), a README and the tool definitions (docs/exchange.md).")
	artifactsExportOutput = artifactsExport.Flag("output", "The pack to write (a .zip).").Required().String()
	artifactsExportTools  = artifactsExport.Flag("tools-url",
		"A URL serving the vql binaries (make cross names): the tools then download from URL/<binary> "+
			"(by the server, or by the endpoints when pinned with --tools-dir); else they are uploaded to the server (serve_locally).").String()
	artifactsExportToolsDir = artifactsExport.Flag("tools-dir",
		"The folder holding the vql binaries (make cross: bin): each tool is declared with its file's "+
			"SHA-256, so an edition given VqlBinary runs with no tool uploaded or served.").String()
	artifactsExportShow = artifactsExport.Flag("show",
		"Print this edition's YAML (Exchange.<Name> or <Name>) instead of writing the pack.").String()
)

func init() {
	commandHandlers = append(commandHandlers, func(command string) (bool, error) {
		if command == artifactsExport.FullCommand() {
			return true, doArtifactsExport(os.Stdout)
		}
		return false, nil
	})
}

// exportEditions generates every exchange edition from the embedded
// hunt artifacts (never from --definitions: the pack is what ships).
func exportEditions(tools []exchange.Tool) ([]*artifacts.Artifact, []*exchange.Edition, exchange.Schema, error) {
	repo, errs := artifacts.NewStandardRepository(nil)
	if len(errs) > 0 {
		return nil, nil, nil, errors.Join(errs...)
	}
	schema, err := exchange.EmbeddedSchema()
	if err != nil {
		return nil, nil, nil, err
	}
	natives := exchange.HuntArtifacts(repo)
	editions, err := exchange.GenerateAll(repo, schema, exchange.Options{Tools: tools})
	return natives, editions, schema, err
}

func doArtifactsExport(stdout io.Writer) error {
	tools := exchange.Tools(*artifactsExportTools)
	if dir := *artifactsExportToolsDir; dir != "" {
		var err error
		if tools, err = exchange.PinTools(tools, dir); err != nil {
			return fmt.Errorf("--tools-dir: %w", err)
		}
	}
	natives, editions, schema, err := exportEditions(tools)
	if err != nil {
		return err
	}
	if name := *artifactsExportShow; name != "" {
		for _, e := range editions {
			if e.Name == name || e.Native == name {
				_, err := io.WriteString(stdout, e.YAML)
				return err
			}
		}
		return fmt.Errorf("no exchange edition named %s", name)
	}
	out := *artifactsExportOutput
	if !strings.HasSuffix(strings.ToLower(out), ".zip") {
		return fmt.Errorf("--output %s: the pack is a zip (name it *.zip)", out)
	}
	var buf bytes.Buffer
	if err := exchange.WritePack(&buf, natives, editions, schema,
		tools, time.Now()); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "vql: exchange pack with %d artifacts written to %s\n", len(editions), out)
	if *artifactsExportToolsDir == "" {
		fmt.Fprintf(os.Stderr, "vql: the tools are not pinned (no --tools-dir): Velociraptor then resolves them "+
			"when a collection starts, so even with VqlBinary they must be uploaded or served (docs/exchange.md)\n")
	}
	return nil
}
