// Package register compiles every azvql plugin and function into a
// Velociraptor binary and hands the plugins Velociraptor's accessors.
// The build (tools/velociraptor/build.sh) drops bin_azvql.go.in into
// Velociraptor's bin/ package, whose init calls All.
package register

import (
	"github.com/azvql/azvql/plugins"
	"github.com/azvql/azvql/tools/velociraptor/adapter"
	vql_subsystem "www.velocidex.com/golang/velociraptor/vql"
)

// LicenceNotice is what the azvql build's `version` command prints
// before Velociraptor's build record: YAML comments, so the output still
// parses as the YAML Velociraptor prints.
const LicenceNotice = `# velociraptor-azvql: Velociraptor v0.75.2 with the azvql plugins compiled in.
# This binary is distributed under the GNU AGPL-3.0 (Velociraptor's licence):
# its users are owed the complete corresponding source, Velociraptor's and azvql's.
# azvql's own code (plugins, tools/velociraptor) is Apache-2.0; see docs/velociraptor.md.
`

// All registers every azvql plugin and function with Velociraptor's VQL
// subsystem, and an evidence accessor for each Velociraptor accessor.
// It must run after Velociraptor's own init functions (call it from an
// init of package main); it returns the accessor names it registered.
func All() []string {
	for _, p := range plugins.All() {
		vql_subsystem.RegisterPlugin(p)
	}
	for _, f := range plugins.Functions() {
		vql_subsystem.RegisterFunction(f)
	}
	return adapter.RegisterAll()
}
