// Package output writes query rows in the formats the vql command offers:
// json (as Velociraptor prints it), jsonl, csv and a readable table.
package output

import (
	"fmt"
	"io"

	"github.com/Velocidex/ordereddict"
)

// Writer receives rows one at a time; Close flushes (the table and the
// json array need to see the end).
type Writer interface {
	Write(row *ordereddict.Dict) error
	Close() error
}

// Formats lists the names NewWriter accepts.
var Formats = []string{"json", "jsonl", "csv", "table"}

// NewWriter returns a writer for format.
func NewWriter(format string, w io.Writer) (Writer, error) {
	return nil, fmt.Errorf("output format %q not implemented yet", format)
}
