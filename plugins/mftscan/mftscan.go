// Package mftscan reads every MFT record of an NTFS volume, in use or
// not, and rebuilds each file's path from its parent references (also
// through deleted parents), so files an extension handler deleted can
// be found by where they were. Small files' content lives inside the
// record ("resident") and survives until the record is reused.
//
// It backs Windows.Azure.DeletedExtensions: azure_mft_entries,
// azure_mft_settings/_status (recovered files in the live plugins'
// columns), azure_mft_executions and azure_usn_entries (the change
// journal, parsed by plugins/usnjrnl). docs/plugins-mftscan.md.
package mftscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	ntfs "www.velocidex.com/golang/go-ntfs/parser"
)

// Entry is one MFT record.
type Entry struct {
	Record       int64
	Sequence     uint16
	InUse        bool
	IsDir        bool
	Name         string
	Parent       int64
	ParentSeq    uint16
	Path         string // C:\... as on the VM; for a partial path, what is known after "?\"
	PathComplete bool
	PathNote     string // why the path is partial

	SICreated, SIModified, SIChanged, SIAccessed time.Time // $STANDARD_INFORMATION
	FNCreated, FNModified, FNChanged, FNAccessed time.Time // $FILE_NAME

	Size          int64
	Resident      bool   // the unnamed $DATA lives inside the record
	Content       []byte // resident content, or what the clusters hold now (first 64 KiB)
	ContentSource string // "resident", "clusters" (of a deleted file: possibly reused) or ""
	ContentZeros  bool   // the clusters read as zeros only (TRIM, or never written)
	ContentError  string // why non-resident content could not be read
}

// Problem is a record that could not be read.
type Problem struct {
	Record int64
	Offset int64 // in the $MFT stream
	Reason string
}

func (p Problem) Error() string {
	return fmt.Sprintf("MFT record %d (offset %d in $MFT): %s", p.Record, p.Offset, p.Reason)
}

// node is what path rebuilding needs of every record (kept small: one
// per record of the volume).
type node struct {
	name      string
	parent    int64
	parentSeq uint16
	seq       uint16
	ok        bool
}

const (
	rootRecord = 5
	maxDepth   = 255 // deeper than any real path; ends parent loops too
)

// RecordCount is the number of records the $MFT stream holds.
func RecordCount(v *ntfs.NTFSContext) (int64, error) {
	mft, err := v.GetMFT(0)
	if err != nil {
		return 0, fmt.Errorf("$MFT record: %w", err)
	}
	data, err := ntfs.OpenStream(v, mft, 128, ntfs.WILDCARD_STREAM_ID, ntfs.WILDCARD_STREAM_NAME)
	if err != nil {
		return 0, fmt.Errorf("$MFT data: %w", err)
	}
	rs := v.GetRecordSize()
	if rs <= 0 {
		return 0, fmt.Errorf("MFT record size %d", rs)
	}
	return ntfs.RangeSize(data) / rs, nil
}

// Scan calls emit for every record whose rebuilt path lies under one of
// prefixes (Windows paths, matched case-insensitively; none = all).
// Unreadable records are passed to problem and skipped.
func Scan(ctx context.Context, v *ntfs.NTFSContext, prefixes []string,
	emit func(Entry) error, problem func(Problem)) error {
	n, err := RecordCount(v)
	if err != nil {
		return err
	}
	return scanRecords(ctx, v, n, prefixes, emit, problem)
}

func scanRecords(ctx context.Context, v *ntfs.NTFSContext, n int64, prefixes []string,
	emit func(Entry) error, problem func(Problem)) error {
	nodes, err := buildNodes(ctx, v, n, problem)
	if err != nil {
		return err
	}
	for i := range prefixes {
		prefixes[i] = strings.ToLower(strings.TrimSuffix(prefixes[i], `\`) + `\`)
	}
	for id := int64(0); id < n; id++ {
		if !nodes[id].ok || id == rootRecord {
			continue
		}
		if id%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		path, complete, note := rebuild(nodes, id)
		if !matches(path, complete, prefixes) {
			continue
		}
		e, err := getMFT(v, id)
		if err != nil {
			continue
		}
		entry := describe(v, e, id, nodes[id])
		entry.Path, entry.PathComplete, entry.PathNote = path, complete, note
		if err := emit(entry); err != nil {
			return err
		}
	}
	return nil
}

// buildNodes reads the name and parent of every record.
func buildNodes(ctx context.Context, v *ntfs.NTFSContext, n int64, problem func(Problem)) ([]node, error) {
	rs := v.GetRecordSize()
	nodes := make([]node, n)
	for id := int64(0); id < n; id++ {
		if id%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e, err := getMFT(v, id)
		if err != nil {
			if !isEmptyRecord(err) {
				problem(Problem{id, id * rs, err.Error()})
			}
			continue
		}
		fn := bestName(v, e)
		if fn == nil {
			continue
		}
		nodes[id] = node{name: fn.Name(), parent: int64(fn.MftReference()), parentSeq: fn.Seq_num(), seq: e.Sequence_value(), ok: true}
	}
	return nodes, nil
}

// pathUnder rebuilds the path of a name in folder parent (with the
// sequence number the reference kept), as rebuild does for a record:
// for a USN record, whose file may be long gone.
func pathUnder(nodes []node, parent int64, parentSeq uint16, name string) (string, bool, string) {
	if parent == rootRecord {
		return `C:\` + name, true, ""
	}
	if parent < 0 || parent >= int64(len(nodes)) || !nodes[parent].ok {
		return `?\` + name, false, fmt.Sprintf("parent record %d unreadable or without a name", parent)
	}
	if s := nodes[parent].seq; s != parentSeq && s != parentSeq+1 {
		return `?\` + name, false, fmt.Sprintf("parent record %d was reused (sequence %d, expected %d)", parent, s, parentSeq)
	}
	p, complete, note := rebuild(nodes, parent)
	return p + `\` + name, complete, note
}

// partialKeep are the parts of a partial path that still place it in
// a handler folder.
var partialKeep = []string{`\runtimesettings\`, `\status\`, `\plugins\`, `\downloads\`}

func matches(path string, complete bool, prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	if !complete {
		// Where the path stops short (a parent record reused), keep
		// what still looks like a handler's settings or status.
		lp := strings.ToLower(path)
		for _, k := range partialKeep {
			if strings.Contains(lp, k) {
				return true
			}
		}
		return false
	}
	lp := strings.ToLower(path)
	for _, p := range prefixes {
		if strings.HasPrefix(lp, p) {
			return true
		}
	}
	return false
}

// getMFT reads a record; go-ntfs panics on some damaged records.
func getMFT(v *ntfs.NTFSContext, id int64) (e *ntfs.MFT_ENTRY, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("damaged record (%v)", r)
		}
	}()
	e, err = v.GetMFT(id)
	if err == nil && !e.Magic().IsValid() { // not "FILE": never used
		return nil, errNotFile
	}
	return e, err
}

var errNotFile = fmt.Errorf("no FILE signature")

// isEmptyRecord: never-used records (zeros) are not damage.
func isEmptyRecord(err error) bool {
	return err == errNotFile || err == ntfs.EntryTooShortError
}

// bestName is the record's Win32 (or POSIX) $FILE_NAME, else any.
func bestName(v *ntfs.NTFSContext, e *ntfs.MFT_ENTRY) *ntfs.FILE_NAME {
	var any *ntfs.FILE_NAME
	for _, a := range e.EnumerateAttributes(v) {
		if a.Type().Value != ntfs.ATTR_TYPE_FILE_NAME {
			continue
		}
		fn := v.Profile.FILE_NAME(a.Data(v), 0)
		switch fn.NameType().Name {
		case "Win32", "POSIX", "DOS+Win32":
			return fn
		}
		if any == nil {
			any = fn
		}
	}
	return any
}

// rebuild walks parent references up to the root. A parent whose
// record was reused (other sequence number), unreadable, or a loop
// makes the path partial: what is known is kept after "?\".
func rebuild(nodes []node, id int64) (string, bool, string) {
	var parts []string
	cur := id
	for depth := 0; ; depth++ {
		nd := nodes[cur]
		parts = append(parts, nd.name)
		p := nd.parent
		if p == rootRecord {
			return `C:\` + joinReversed(parts), true, ""
		}
		note := ""
		switch {
		case depth >= maxDepth:
			note = "parent references loop or nest deeper than any real path"
		case p < 0 || p >= int64(len(nodes)) || !nodes[p].ok:
			note = fmt.Sprintf("parent record %d unreadable or without a name", p)
		case nodes[p].seq != nd.parentSeq && nodes[p].seq != nd.parentSeq+1:
			// A deleted parent's sequence number is one higher than
			// the reference its children kept; more means reused.
			note = fmt.Sprintf("parent record %d was reused (sequence %d, expected %d)", p, nodes[p].seq, nd.parentSeq)
		case p == cur:
			note = "record is its own parent"
		}
		if note != "" {
			return `?\` + joinReversed(parts), false, note
		}
		cur = p
	}
}

func joinReversed(parts []string) string {
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
		if i > 0 {
			b.WriteByte('\\')
		}
	}
	return b.String()
}

const maxContent = 64 << 10

func describe(v *ntfs.NTFSContext, e *ntfs.MFT_ENTRY, id int64, nd node) Entry {
	out := Entry{
		Record:    id,
		Sequence:  e.Sequence_value(),
		InUse:     e.Flags().IsSet("ALLOCATED"),
		IsDir:     e.Flags().IsSet("DIRECTORY"),
		Name:      nd.name,
		Parent:    nd.parent,
		ParentSeq: nd.parentSeq,
	}
	haveFN := false
	for _, a := range e.EnumerateAttributes(v) {
		switch a.Type().Value {
		case ntfs.ATTR_TYPE_STANDARD_INFORMATION:
			si := v.Profile.STANDARD_INFORMATION(a.Data(v), 0)
			out.SICreated, out.SIModified = si.Create_time().Time.UTC(), si.File_altered_time().Time.UTC()
			out.SIChanged, out.SIAccessed = si.Mft_altered_time().Time.UTC(), si.File_accessed_time().Time.UTC()
		case ntfs.ATTR_TYPE_FILE_NAME:
			fn := v.Profile.FILE_NAME(a.Data(v), 0)
			if haveFN && fn.Name() != nd.name {
				continue
			}
			haveFN = true
			out.FNCreated, out.FNModified = fn.Created().Time.UTC(), fn.File_modified().Time.UTC()
			out.FNChanged, out.FNAccessed = fn.Mft_modified().Time.UTC(), fn.File_accessed().Time.UTC()
		case ntfs.ATTR_TYPE_DATA:
			if a.Name() != "" || (!a.IsResident() && a.Runlist_vcn_start() != 0) {
				continue
			}
			out.Size = a.DataSize()
			if a.IsResident() {
				out.Resident, out.ContentSource = true, "resident"
				buf := make([]byte, min(out.Size, maxContent))
				n, _ := a.Data(v).ReadAt(buf, 0)
				out.Content = buf[:n]
			}
		}
	}
	if !out.Resident && !out.IsDir && out.Size > 0 {
		readClusters(v, e, &out)
	}
	return out
}

// readClusters reads a non-resident file's first bytes through its run
// list. For a deleted file the clusters are free and may hold another
// file's data since; zeros are said apart (TRIM leaves them).
func readClusters(v *ntfs.NTFSContext, e *ntfs.MFT_ENTRY, out *Entry) {
	defer func() {
		if r := recover(); r != nil {
			out.Content, out.ContentSource, out.ContentError = nil, "", fmt.Sprintf("damaged run list (%v)", r)
		}
	}()
	data, err := ntfs.OpenStream(v, e, ntfs.ATTR_TYPE_DATA, ntfs.WILDCARD_STREAM_ID, "")
	if err != nil {
		out.ContentError = err.Error()
		return
	}
	buf := make([]byte, min(out.Size, maxContent))
	n, err := data.ReadAt(buf, 0)
	if n == 0 && err != nil {
		out.ContentError = "clusters not readable: " + err.Error()
		if errors.Is(err, io.EOF) {
			out.ContentError = "clusters not readable: the run list points past the end of the volume"
		}
		return
	}
	out.Content, out.ContentSource = buf[:n], "clusters"
	out.ContentZeros = isZeros(out.Content)
}

func isZeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
