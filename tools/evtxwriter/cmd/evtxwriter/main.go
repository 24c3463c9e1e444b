// Command evtxwriter writes a Windows event log (.evtx) from a YAML or
// JSON description of its events (see evtxwriter.Event):
//
//	evtxwriter -o Security.evtx events.yaml
//
// The file has {"events": [...]} (YAML or JSON); records are written in
// the order given.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/Velocidex/yaml/v2"
	"github.com/azvql/azvql/tools/evtxwriter"
)

type input struct {
	Events []evtxwriter.Event `yaml:"events"`
}

func main() {
	out := flag.String("o", "", "the .evtx file to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: evtxwriter -o OUT.evtx EVENTS.yaml")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *out); err != nil {
		fmt.Fprintln(os.Stderr, "evtxwriter:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc input
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return fmt.Errorf("%s: %v", in, err)
	}
	if len(doc.Events) == 0 {
		return fmt.Errorf("%s: no events", in)
	}
	w := evtxwriter.New()
	for i, e := range doc.Events {
		r, err := e.Record()
		if err != nil {
			return fmt.Errorf("%s: event %d: %v", in, i+1, err)
		}
		if err := w.Add(r); err != nil {
			return fmt.Errorf("%s: event %d: %v", in, i+1, err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
