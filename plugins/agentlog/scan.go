package agentlog

import (
	"io"

	"github.com/azvql/azvql/plugins/logscan"
)

// The line reader, the decompression and the caps are shared with the
// other log parsers in plugins/logscan.

// Scan reads a (possibly compressed) log from r and feeds every line to
// a. It returns the read error that ended the scan early (a gzip that
// ends early, a read error), nil at a clean end of file or when emit
// asked to stop; the records read until then have been emitted.
func Scan(r io.Reader, a *Assembler) (compressed string, err error) {
	br, kind, err := logscan.Decompress(r)
	if err != nil {
		return kind, err
	}
	lr := logscan.NewLineReader(br, a.opt.MaxLine)
	for {
		line, cut, err := lr.Next()
		if err != nil {
			a.Flush()
			if err == io.EOF {
				return kind, nil
			}
			return kind, err
		}
		if !a.Line(line, cut) {
			return kind, nil
		}
	}
}
