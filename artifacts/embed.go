// Package artifacts embeds the azvql artifact definitions: YAML files
// laid out as Velociraptor lays out its own, one artifact per file,
// the folders spelling the name (Linux/Azure/RunCommand.yaml holds
// Linux.Azure.RunCommand).
package artifacts

import (
	"embed"
	"io/fs"
)

// The pattern takes the whole folder (Go has no recursive glob);
// readers keep only *.yaml files.
//
//go:embed *
var files embed.FS

// FS returns the embedded tree; the artifacts are its *.yaml files.
func FS() fs.FS {
	return files
}
