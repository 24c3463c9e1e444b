package extensions

import (
	"context"
	"strconv"
	"strings"

	"github.com/azvql/azvql/plugins/catalog"
	"github.com/azvql/azvql/plugins/goalstate"
	"github.com/azvql/azvql/plugins/protected"
)

// goalRef is what the goal states say about one extension setting
// (handler, extension name, sequence): the public command and URIs,
// which survive there after the extension truncated or deleted its own
// copies (docs/formats.md §1.10).
type goalRef struct {
	Command   string
	Note      string
	FileUris  []string
	Source    string // OSPath of the goal-state file; "<zip>!<member>" inside a zip
	Protected bool
}

func goalKey(handler, ext string, seq int64) string {
	return strings.ToLower(handler) + "\x00" + ext + "\x00" + strconv.FormatInt(seq, 10)
}

// loadGoalStates reads every goal state of the root once (through
// plugins/goalstate) and keeps, for each setting of a catalogue
// handler (its public command, else the command of its decrypted
// protected settings when c.dec decrypts), the last document (in the walk's order: legacy files, history
// by name, Windows) that states a command, else the last that names it.
// Problems in goal-state documents are azure_goal_states' to report; this
// walk is quiet.
func (c *execCollector) loadGoalStates(ctx context.Context) {
	c.goal = map[string]*goalRef{}
	w := &goalstate.Walker{
		Root: c.r,
		// The executions' Decryptor (nil: never): a setting whose public
		// part has no command gets the one in its decrypted protected
		// settings (unredacted legacy ExtensionsConfig files, Windows
		// Config); redacted already when the plugin redacts.
		Opts: goalstate.Options{Redact: false, Decryptor: c.dec},
		Emit: func(row *goalstate.Row) bool {
			if row.SeqNo == nil || row.Handler == "" || ctx.Err() != nil {
				return ctx.Err() == nil
			}
			if catalog.ByName(row.Handler) == nil {
				return true
			}
			k := goalKey(row.Handler, row.ExtensionName, *row.SeqNo)
			prev := c.goal[k]
			cmd, note := goalstate.CommandOf(row.PublicSettings)
			if cmd == "" && row.CommandSource == protected.CommandSource {
				cmd, note = row.Command, ""
			}
			if prev != nil && prev.Command != "" && cmd == "" {
				return true
			}
			src := row.Source
			if row.Member != "" {
				src += "!" + row.Member
			}
			ps := strings.TrimSpace(row.ProtectedSettings)
			c.goal[k] = &goalRef{Command: cmd, Note: note, FileUris: goalstate.FileUrisOf(row.PublicSettings), Source: src,
				Protected: ps != ""}
			return true
		},
	}
	w.Walk(ctx)
}

// goalFor returns the goal-state setting of a run, nil when none.
func (c *execCollector) goalFor(k execKey) *goalRef {
	if c.goal == nil {
		return nil
	}
	return c.goal[goalKey(k.Handler, k.ExtName, k.Seq)]
}
