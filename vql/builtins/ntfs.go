package builtins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/vqlkit"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

// parse_mft and parse_usn give the rows of Velociraptor v0.75.2's plugins
// of the same names (same arguments, columns and values): both walk the
// structures with go-ntfs, the version Velociraptor pins, so the rows come
// from the same library code. Stock VQL that reads an extracted $MFT or
// $J (Windows.Azure.DeletedExtensions' stock path) runs unchanged here.
// What is Velociraptor's here is behaviour, learned from its source and
// checked against its binary (integration testcase 904): the preload
// summary, the empty-MFT fallback, the record-size probe and the default
// options follow from that parity and go-ntfs's API; the code is ours.

// ParseMFTArgs are parse_mft()'s arguments.
type ParseMFTArgs struct {
	Filename string `vfilter:"required,field=filename,doc=An extracted $MFT (its records, 1 KiB each)."`
	Accessor string `vfilter:"optional,field=accessor,doc=The accessor filename is read with (default auto)."`
	Prefix   string `vfilter:"optional,field=prefix,doc=Path components put before every OSPath and link (a drive such as C:)."`
	Start    int64  `vfilter:"optional,field=start,doc=The record number to begin with (default 0)."`
}

// The geometry parse_mft assumes for an extracted $MFT: 4 KiB clusters
// (only used to read non-resident attribute lists) and 1 KiB records.
const (
	mftClusterSize = 0x1000
	mftRecordSize  = 0x400
)

// ParseMFTPlugin is parse_mft(): one row per MFT record of a raw $MFT
// file, in use or not.
type ParseMFTPlugin struct{}

func (ParseMFTPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	arg := &ParseMFTArgs{}
	return vqlkit.Run(ctx, scope, args, "parse_mft", arg, func(out chan vfilter.Row) {
		r, size, closer, err := openReaderAt(scope, arg.Accessor, arg.Filename)
		if err != nil {
			scope.Log("parse_mft: Unable to open file %s: %v", arg.Filename, err)
			return
		}
		defer closer()
		opts := ntfsOptions(scope)
		if arg.Prefix != "" {
			opts.PrefixComponents = pathComponents(arg.Prefix)
		}
		start := arg.Start
		if start < 0 {
			start = 0
		}
		eachMFTRow(ctx, r, size, start, opts, func(row *ordereddict.Dict) bool {
			return vqlkit.Send(ctx, out, row)
		})
	})
}

// eachMFTRow calls emit with the row of every record from start on,
// until emit returns false.
func eachMFTRow(ctx context.Context, r io.ReaderAt, size, start int64, opts ntfs.Options,
	emit func(*ordereddict.Dict) bool) {
	// The library's goroutine ends when sub is cancelled. A panic in it
	// (a hostile $MFT go-ntfs does not guard against) cannot be recovered
	// here and ends the process, as under Velociraptor; azure_mft_entries
	// walks records in its own goroutine and does not have this risk.
	// FuzzParseMFT has found none.
	sub, cancel := context.WithCancel(ctx)
	defer cancel()
	for hl := range ntfs.ParseMFTFileWithOptions(sub, r, size, mftClusterSize, mftRecordSize, start, opts) {
		if !emit(mftRow(hl)) {
			return
		}
	}
}

// mftRow is one parse_mft row, in Velociraptor's column order. OSPath is
// the first link's components joined with backslashes, as Velociraptor's
// NTFS path type prints a path without a device.
func mftRow(h *ntfs.MFTHighlight) *ordereddict.Dict {
	comps := h.Components()
	return ordereddict.NewDict().
		Set("EntryNumber", h.EntryNumber).
		Set("OSPath", strings.Join(comps, `\`)).
		Set("SequenceNumber", h.SequenceNumber).
		Set("InUse", h.InUse).
		Set("ParentEntryNumber", h.ParentEntryNumber).
		Set("ParentSequenceNumber", h.ParentSequenceNumber).
		Set("FileName", h.FileName()).
		Set("FileNames", h.FileNames).
		Set("Links", h.Links()).
		Set("FileNameTypes", h.FileNameTypes()).
		Set("FileSize", h.FileSize).
		Set("ReferenceCount", h.ReferenceCount).
		Set("IsDir", h.IsDir).
		Set("HasADS", h.HasADS).
		Set("SI_Lt_FN", h.SI_Lt_FN).
		Set("USecZeros", h.USecZeros).
		Set("Copied", h.Copied).
		Set("SIFlags", h.SIFlags).
		Set("Created0x10", h.Created0x10).
		Set("Created0x30", h.Created0x30).
		Set("LastModified0x10", h.LastModified0x10).
		Set("LastModified0x30", h.LastModified0x30).
		Set("LastRecordChange0x10", h.LastRecordChange0x10).
		Set("LastRecordChange0x30", h.LastRecordChange0x30).
		Set("LastAccess0x10", h.LastAccess0x10).
		Set("LastAccess0x30", h.LastAccess0x30).
		Set("LogFileSeqNum", h.LogFileSeqNum)
}

func (ParseMFTPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_mft",
		Doc:     "Every record of an extracted $MFT, in use or not, as Velociraptor's parse_mft gives it.",
		ArgType: typeMap.AddType(scope, &ParseMFTArgs{}),
		Version: 2,
	}
}

// ParseUSNArgs are parse_usn()'s arguments.
type ParseUSNArgs struct {
	Device        string `vfilter:"optional,field=device,doc=A raw NTFS volume read with accessor; its components prefix every path. The vql host's file accessor refuses device files (a block device is not a regular file): give image_filename, an image of the volume."`
	ImageFilename string `vfilter:"optional,field=image_filename,doc=An image of a bare NTFS volume read with accessor."`
	Accessor      string `vfilter:"optional,field=accessor,doc=The accessor the files are read with (default auto)."`
	MFTFilename   string `vfilter:"optional,field=mft_filename,doc=An extracted $MFT whose records give the journal entries' paths."`
	USNFilename   string `vfilter:"optional,field=usn_filename,doc=An extracted $UsnJrnl:$J; without it the journal of device or image_filename is read."`
	StartUSN      int64  `vfilter:"optional,field=start_offset,doc=Skip the records before this offset in the journal."`
	FastPaths     bool   `vfilter:"optional,field=fast_paths,doc=Build paths from the MFT alone, without first adding the journal's own names (faster; names of deleted files may be missing)."`
}

// ParseUSNPlugin is parse_usn(): the change journal's records, from a
// volume (device or image_filename) or an extracted $J (usn_filename),
// paths resolved through the volume's or an extracted $MFT.
type ParseUSNPlugin struct{}

func (ParseUSNPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	arg := &ParseUSNArgs{}
	return vqlkit.Run(ctx, scope, args, "parse_usn", arg, func(out chan vfilter.Row) {
		var closers []func()
		defer func() {
			for _, c := range closers {
				c()
			}
		}()
		v, resolve, err := usnVolume(scope, arg, &closers)
		if err != nil {
			scope.Log("parse_usn: %v", err)
			return
		}
		stream, err := usnStream(scope, arg, v, &closers)
		if err != nil {
			scope.Log("parse_usn: %v", err)
			return
		}
		opts := ntfsOptions(scope)
		if arg.Device != "" {
			opts.PrefixComponents = pathComponents(arg.Device)
		}
		if !resolve {
			opts.DisableFullPathResolution = true
		}
		v.SetOptions(opts)
		if !arg.FastPaths {
			n, err := preloadUSNNames(ctx, v, stream, arg.StartUSN)
			if err != nil {
				scope.Log("parse_usn: %v", err)
			}
			scope.Log("parse_usn: %d journal names added to the path resolver", n)
		}
		err = walkUSN(v, stream, arg.StartUSN, func(rec *ntfs.USN_RECORD) bool {
			return vqlkit.Send(ctx, out, usnRow(rec))
		})
		if err != nil {
			scope.Log("parse_usn: %v", err)
		}
	})
}

// usnVolume is the NTFS context paths are resolved with: the volume of
// device or image_filename, else an extracted $MFT, else an empty one
// (resolve false: only the journal's own names are known).
func usnVolume(scope vfilter.Scope, arg *ParseUSNArgs, closers *[]func()) (*ntfs.NTFSContext, bool, error) {
	open := func(name string, rawMFT bool) (*ntfs.NTFSContext, error) {
		r, _, closer, err := openReaderAt(scope, arg.Accessor, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		*closers = append(*closers, closer)
		if rawMFT {
			rs, err := detectRecordSize(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return ntfs.GetNTFSContextFromRawMFT(r, mftClusterSize, rs), nil
		}
		v, err := ntfs.GetNTFSContext(r, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return v, nil
	}
	var v *ntfs.NTFSContext
	var err error
	switch {
	case arg.Device != "":
		v, err = open(arg.Device, false)
	case arg.ImageFilename != "":
		v, err = open(arg.ImageFilename, false)
	case arg.MFTFilename != "":
		v, err = open(arg.MFTFilename, true)
	default:
		err = errors.New("no device, image_filename or mft_filename")
	}
	if err == nil {
		*closers = append(*closers, v.Close)
		return v, true, nil
	}
	if arg.USNFilename == "" {
		return nil, false, err
	}
	scope.Log("parse_usn: no MFT to resolve paths with (%v): paths are built from the journal's names only", err)
	empty := ntfs.GetNTFSContextFromRawMFT(emptyReaderAt{}, 0x200, 0x200)
	*closers = append(*closers, empty.Close)
	return empty, false, nil
}

// usnStream is the extracted $J of usn_filename, else the volume's
// $Extend\$UsnJrnl:$J.
func usnStream(scope vfilter.Scope, arg *ParseUSNArgs, v *ntfs.NTFSContext, closers *[]func()) (ntfs.RangeReaderAt, error) {
	if arg.USNFilename == "" {
		s, err := ntfs.OpenUSNStream(v)
		if err != nil {
			return nil, fmt.Errorf("the volume's USN journal: %w", err)
		}
		return s, nil
	}
	r, size, closer, err := openReaderAt(scope, arg.Accessor, arg.USNFilename)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg.USNFilename, err)
	}
	*closers = append(*closers, closer)
	return wholeFile{ReaderAt: r, size: size}, nil
}

// preloadUSNNames gives the path resolver, for every file the journal
// names whose MFT record is gone or reused, the name and parent the
// journal recorded, so its path can still be built. It returns how many
// were added.
func preloadUSNNames(ctx context.Context, v *ntfs.NTFSContext, stream ntfs.RangeReaderAt, start int64) (int, error) {
	added := 0
	err := walkUSN(v, stream, start, func(rec *ntfs.USN_RECORD) bool {
		id, seq := rec.FileReferenceNumberID(), uint16(rec.FileReferenceNumberSequence())
		name := rec.Filename()
		parent, parentSeq := rec.ParentFileReferenceNumberID(), uint16(rec.ParentFileReferenceNumberSequence())
		v.SetPreload(id, seq, func(have *ntfs.MFTEntrySummary) (*ntfs.MFTEntrySummary, bool) {
			if have != nil {
				return have, false
			}
			added++
			return &ntfs.MFTEntrySummary{Sequence: seq, Filenames: []ntfs.FNSummary{{
				Name: name, NameType: "DOS+Win32", ParentEntryNumber: parent, ParentSequenceNumber: parentSeq,
			}}}, true
		})
		return ctx.Err() == nil // a cancelled query stops here too
	})
	return added, err
}

// walkUSN calls emit for every record of the allocated ranges of stream
// whose offset is start or more, in the order and with the resynchronising
// rules of go-ntfs's record walk (the first record of a range, then each
// next valid one, skipping zeros), until emit returns false. It walks in
// this goroutine, not in the library's, so a panic on a hostile journal
// is an error here, not the end of the process.
func walkUSN(v *ntfs.NTFSContext, stream ntfs.RangeReaderAt, start int64,
	emit func(*ntfs.USN_RECORD) bool) (err error) {
	at := int64(-1)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged journal record after offset %d: %v", at, r)
		}
	}()
	for _, rng := range stream.Ranges() {
		end := rng.Offset + rng.Length
		if rng.IsSparse || start > end {
			continue
		}
		for rec := ntfs.NewUSN_RECORD(v, stream, rng.Offset); rec != nil; rec = rec.Next(end) {
			at = rec.Offset
			if rec.Offset < start {
				continue
			}
			if !emit(rec) {
				return nil
			}
		}
	}
	return nil
}

// usnRow is one parse_usn row, in Velociraptor's column order.
func usnRow(rec *ntfs.USN_RECORD) *ordereddict.Dict {
	links := rec.Links()
	path := ""
	if len(links) > 0 {
		path = links[0]
	}
	return ordereddict.NewDict().
		Set("Usn", rec.Usn()).
		Set("Timestamp", rec.TimeStamp().Time).
		Set("Filename", rec.Filename()).
		Set("_Links", links).
		Set("OSPath", path).
		Set("FileAttributes", rec.FileAttributes()).
		Set("Reason", rec.Reason()).
		Set("SourceInfo", rec.SourceInfo()).
		Set("_FileMFTID", rec.FileReferenceNumberID()).
		Set("_FileMFTSequence", rec.FileReferenceNumberSequence()).
		Set("_ParentMFTID", rec.ParentFileReferenceNumberID()).
		Set("_ParentMFTSequence", rec.ParentFileReferenceNumberSequence())
}

func (ParseUSNPlugin) Info(scope vfilter.Scope, typeMap *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name:    "parse_usn",
		Doc:     "The USN change journal records of an NTFS volume or an extracted $J, as Velociraptor's parse_usn gives them.",
		ArgType: typeMap.AddType(scope, &ParseUSNArgs{}),
		Version: 2,
	}
}

// openReaderAt opens name through an accessor as a paged io.ReaderAt
// (go-ntfs reads records of 1 KiB: pages save a system call per record).
func openReaderAt(scope vfilter.Scope, accessor, name string) (io.ReaderAt, int64, func(), error) {
	acc, err := evidence.Get(scope, accessor)
	if err != nil {
		return nil, 0, nil, err
	}
	fd, err := acc.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	ra, size, err := readerAtOf(fd)
	if err != nil {
		fd.Close()
		return nil, 0, nil, err
	}
	paged, err := ntfs.NewPagedReader(ra, 0x1000, 1000)
	if err != nil {
		fd.Close()
		return nil, 0, nil, err
	}
	return paged, size, func() { fd.Close() }, nil
}

// detectRecordSize finds an extracted $MFT's record size: the offset of
// the second "FILE" record (Velociraptor assumes the same layout).
func detectRecordSize(r io.ReaderAt) (int64, error) {
	magic := make([]byte, 4)
	if _, err := r.ReadAt(magic, 0); err != nil || string(magic) != "FILE" {
		return 0, errors.New("not an $MFT: no FILE record at offset 0")
	}
	for off := int64(512); off < 8192; off += 512 {
		if n, err := r.ReadAt(magic, off); err != nil || n != 4 {
			break
		}
		if string(magic) == "FILE" {
			return off, nil
		}
	}
	return 0, errors.New("unknown MFT record size: no second FILE record in the first 8 KiB")
}

// ntfsOptions are go-ntfs's path options, from the scope variables
// Velociraptor reads (NTFS_MAX_DIRECTORY_DEPTH, NTFS_MAX_LINKS: 20 when
// unset; NTFS_INCLUDE_SHORT_NAMES, NTFS_DISABLE_FULL_PATH_RESOLUTION).
func ntfsOptions(scope vfilter.Scope) ntfs.Options {
	intVar := func(name string, def int) int {
		v, ok := scope.Resolve(name)
		if !ok {
			return def
		}
		switch n := v.(type) {
		case int64:
			if n > 0 {
				return int(n)
			}
		case int:
			if n > 0 {
				return n
			}
		case float64:
			if n > 0 {
				return int(n)
			}
		}
		return def
	}
	boolVar := func(name string) bool {
		v, ok := scope.Resolve(name)
		return ok && scope.Bool(v)
	}
	return ntfs.Options{
		MaxDirectoryDepth:         intVar("NTFS_MAX_DIRECTORY_DEPTH", 20),
		MaxLinks:                  intVar("NTFS_MAX_LINKS", 20),
		IncludeShortNames:         boolVar("NTFS_INCLUDE_SHORT_NAMES"),
		DisableFullPathResolution: boolVar("NTFS_DISABLE_FULL_PATH_RESOLUTION"),
	}
}

// pathComponents splits a path on either separator.
func pathComponents(p string) []string {
	var out []string
	for _, c := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		out = append(out, c)
	}
	return out
}

// wholeFile is an extracted $J as one allocated range (go-ntfs walks the
// ranges a stream reports; a file on disk has no sparse head any more).
type wholeFile struct {
	io.ReaderAt
	size int64
}

func (w wholeFile) Ranges() []ntfs.Range {
	return []ntfs.Range{{Offset: 0, Length: w.size}}
}

type emptyReaderAt struct{}

func (emptyReaderAt) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
