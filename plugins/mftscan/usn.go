package mftscan

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/Velocidex/ordereddict"
	"github.com/azvql/azvql/plugins/evidence"
	"github.com/azvql/azvql/plugins/extensions"
	"github.com/azvql/azvql/plugins/usnjrnl"
	"github.com/azvql/azvql/plugins/vqlkit"
	ntfs "www.velocidex.com/golang/go-ntfs/parser"
	"www.velocidex.com/golang/vfilter"
)

// USN journal records, named as Velociraptor's parse_usn names them
// where it has a column (Usn, Timestamp, Filename, Reason, ...), with
// the path rebuilt from the MFT as it is now (a parent reused since
// makes it partial) and the offset in $J.
var usnColumns = vqlkit.NewColumns("Usn", "Offset", "Timestamp", "Filename", "OSPath", "PathComplete", "PathNote",
	"Reason", "FileAttributes", "MFTID", "MFTSequence", "ParentMFTID", "ParentMFTSequence", "Source")

type usnArgs struct {
	Root     string   `vfilter:"optional,field=root,doc=With filename: the evidence root the file lies under."`
	Accessor string   `vfilter:"optional,field=accessor,doc=An accessor that exposes an NTFS volume (default auto: with vql --image, the image's volume); with filename, the accessor that reads it."`
	Image    string   `vfilter:"optional,field=image,doc=A disk image file on this system (opened read-only) whose OS NTFS volume's $Extend\\$UsnJrnl:$J is read."`
	Filename string   `vfilter:"optional,field=filename,doc=An extracted $UsnJrnl:$J file (e.g. from a triage collection) instead of a volume: no paths, every record."`
	Prefixes []string `vfilter:"optional,field=prefixes,doc=On a volume: Windows paths whose records are returned (default the extension folders); partial paths are kept when they name a handler folder."`
}

// USNPlugin is azure_usn_entries.
type USNPlugin struct{}

func (USNPlugin) Columns() []string { return usnColumns.Names() }

func (USNPlugin) Info(scope vfilter.Scope, tm *vfilter.TypeMap) *vfilter.PluginInfo {
	return &vfilter.PluginInfo{
		Name: "azure_usn_entries",
		Doc: "USN change-journal records ($Extend\\$UsnJrnl:$J) of an NTFS volume under the extension folders: " +
			"when each file was created, written, renamed and deleted, even after its MFT record was reused. " +
			"Or every record of an extracted $J file (filename). Damaged stretches are warnings naming the offset.",
		ArgType: tm.AddType(scope, &usnArgs{}),
		Version: 1,
	}
}

func (USNPlugin) Call(ctx context.Context, scope vfilter.Scope, args *ordereddict.Dict) <-chan vfilter.Row {
	const name = "azure_usn_entries"
	a := &usnArgs{}
	return vqlkit.Run(ctx, scope, args, name, a, func(out chan vfilter.Row) {
		send := func(r usnjrnl.Record, path string, complete bool, note, source string) error {
			if !vqlkit.Send(ctx, out, usnColumns.Row(r.Usn, r.Offset, vqlkit.Time(r.Time), r.Name, vqlkit.Str(path),
				complete, vqlkit.Str(note), r.Reasons, int64(r.Attrs), r.MFTID, int64(r.MFTSeq), r.ParentID,
				int64(r.ParentSeq), source)) {
				return context.Canceled
			}
			return nil
		}
		if a.Filename != "" {
			usnFile(ctx, scope, a, send)
			return
		}
		vol, closeVol, err := openVolume(scope, &entriesArgs{Accessor: a.Accessor, Image: a.Image})
		if err != nil {
			vqlkit.Errorf(scope, name, "%v", err)
			return
		}
		defer closeVol()
		where := volumeName(vol, &entriesArgs{Accessor: a.Accessor})
		v := vol.NTFSContext()
		stream, err := openJournal(v)
		if err != nil {
			// Not an error of the query: Windows can run with the
			// journal disabled, and other writers never create one.
			vqlkit.Warnf(scope, name, "%s: %v", where, err)
			return
		}
		n, err := RecordCount(v)
		if err != nil {
			vqlkit.Errorf(scope, name, "%s: %v", where, err)
			return
		}
		nodes, err := buildNodes(ctx, v, n, func(p Problem) { vqlkit.Warnf(scope, name, "%s: %v", where, p) })
		if err != nil {
			return
		}
		prefixes := a.Prefixes
		if len(prefixes) == 0 {
			prefixes = ExtensionPrefixes
		}
		prefixes = normPrefixes(prefixes)
		for _, rng := range stream.Ranges() {
			if rng.IsSparse { // the journal's discarded head
				continue
			}
			err := usnjrnl.Parse(stream, rng.Offset, rng.Offset+rng.Length, func(r usnjrnl.Record) error {
				path, complete, note := pathUnder(nodes, r.ParentID, r.ParentSeq, r.Name)
				if !matches(path, complete, prefixes) {
					return nil
				}
				return send(r, path, complete, note, "volume")
			}, func(p usnjrnl.Problem) { vqlkit.Warnf(scope, name, "%s: %v", where, p) })
			if err != nil {
				return
			}
		}
	})
}

// normPrefixes lower-cases prefixes and ends each with a separator.
func normPrefixes(in []string) []string {
	out := make([]string, len(in))
	for i, p := range in {
		out[i] = strings.ToLower(strings.TrimSuffix(p, `\`) + `\`)
	}
	return out
}

// openJournal opens $Extend\$UsnJrnl:$J (go-ntfs panics on some damage).
func openJournal(v *ntfs.NTFSContext) (s ntfs.RangeReaderAt, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("$UsnJrnl damaged (%v)", r)
		}
	}()
	s, err = ntfs.OpenUSNStream(v)
	if err != nil {
		return nil, fmt.Errorf("no USN journal ($Extend\\$UsnJrnl:$J): %v (ntfs-3g and Linux never write one)", err)
	}
	return s, nil
}

// usnFile reads an extracted $J. A triage copy may be an excerpt that
// does not start at $J offset 0: the first record's USN (its offset in
// $J) then says where it starts.
func usnFile(ctx context.Context, scope vfilter.Scope, a *usnArgs, send func(usnjrnl.Record, string, bool, string, string) error) {
	const name = "azure_usn_entries"
	acc, err := evidence.Get(scope, a.Accessor)
	if err != nil {
		vqlkit.Errorf(scope, name, "%v", err)
		return
	}
	// With root, the file may be given as a path on the evidence system
	// or under root (as glob returns it): both are read inside root.
	path := a.Filename
	if a.Root != "" {
		path = extensions.OSPathFor(a.Root, a.Filename)
	}
	root := evidence.NewRoot(acc, a.Root)
	e, err := root.Lstat(path)
	if err == nil {
		err = evidence.CheckFile(e)
	}
	if err != nil {
		vqlkit.Errorf(scope, name, "%s: %v", path, err)
		return
	}
	f, err := root.Open(path)
	if err != nil {
		vqlkit.Errorf(scope, name, "%s: %v", path, err)
		return
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		vqlkit.Errorf(scope, name, "%s: the accessor cannot read at offsets", path)
		return
	}
	base := usnjrnl.Base(ra, e.Size)
	err = usnjrnl.Parse(shifted{ra, base}, base, base+e.Size, func(r usnjrnl.Record) error {
		return send(r, "", false, "", "file")
	}, func(p usnjrnl.Problem) { vqlkit.Warnf(scope, name, "%s: %v (file offset %d)", path, p, p.Offset-base) })
	if err != nil && err != context.Canceled {
		vqlkit.Errorf(scope, name, "%s: %v", path, err)
	}
}

// shifted reads a file holding $J from offset base on.
type shifted struct {
	r    io.ReaderAt
	base int64
}

func (s shifted) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off-s.base) }
