package artifacts

import "testing"

func TestLiteralQueries(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"query:\n  SELECT 1\n", "query: |\n\n  SELECT 1\n"},
		{"  - Precondition:  \r\n    SELECT 1\r\n", "  - Precondition:   |\n\n    SELECT 1\n"},
		{"queries:\n  - SELECT 1\n  - let x = 1\n  -  // c\n", "queries:\n  - |\n    SELECT 1\n  - |\n    let x = 1\n  -  |\n     // c\n"},
		{"query: SELECT 1\n", "query: SELECT 1\n"},               // already a scalar on the line
		{"- SELECT 1\n\t- SELECT\n", "- SELECT 1\n\t- SELECT\n"}, // a list item needs an indent of spaces
		// No word boundary, as in Velociraptor (both read the file alike):
		// a list line in a description that starts with "select" moves too.
		{"description: |\n  - selection of files\n", "description: |\n  - |\n    selection of files\n"},
	} {
		if got := literalQueries(c.in); got != c.want {
			t.Errorf("literalQueries(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
