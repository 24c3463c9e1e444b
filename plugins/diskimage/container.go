package diskimage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	ewf "github.com/Velocidex/go-ewf/parser"
	vhdx "github.com/Velocidex/go-vhdx/parser"
	vmdk "github.com/Velocidex/go-vmdk/parser"
)

// Disk is the virtual disk inside an image file, whatever its container.
type Disk struct {
	io.ReaderAt
	Size     int64
	Format   string // raw, vhd, vhdx, vmdk, e01
	Problems []Problem

	closers []io.Closer
}

// Close releases the image files.
func (d *Disk) Close() error {
	var errs []error
	for _, c := range d.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

var (
	ewfMagic  = []byte("EVF\x09\x0d\x0a\xff\x00")
	vmdkMagic = []byte("KDMV")
)

// openImageFile opens one file of an image (the image, a VMDK extent,
// an EWF segment) read-only. A FIFO or terminal would block the open or
// a read forever, so the open does not wait (O_NONBLOCK, ignored by
// Windows) and only regular files and block devices are kept; the type
// is checked on the open file, so nothing can be swapped in between.
func openImageFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) // images are never written
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if m := st.Mode(); !m.IsRegular() && (m&os.ModeDevice == 0 || m&os.ModeCharDevice != 0) {
		f.Close()
		return nil, fmt.Errorf("image %s: not a regular file or block device (%s)", path, m.Type())
	}
	return f, nil
}

// OpenDisk opens an image file read-only and returns the disk it holds.
// The format is taken from the content, not the file name.
func OpenDisk(path string) (*Disk, error) {
	f, err := openImageFile(path)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	head := make([]byte, 512)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	d := &Disk{ReaderAt: f, Size: size, Format: "raw", closers: []io.Closer{f}}
	switch {
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		err = d.openVHDX(f, path)
	case bytes.HasPrefix(head, ewfMagic):
		err = d.openEWF(f, path)
	case bytes.HasPrefix(head, vmdkMagic) || bytes.Contains(head, []byte("# Disk DescriptorFile")):
		err = d.openVMDK(f, path, size)
	default:
		err = d.checkVHDFooter(f, path, size)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// checkVHDFooter turns a fixed VHD into its raw disk (the file less the
// 512-byte footer). A footer with a bad checksum is reported and the
// data before it still read.
func (d *Disk) checkVHDFooter(f *os.File, path string, size int64) error {
	if size < vhdFooterSize {
		return nil
	}
	foot := make([]byte, vhdFooterSize)
	if _, err := f.ReadAt(foot, size-vhdFooterSize); err != nil || !IsVHDFooter(foot) {
		return nil // raw/dd
	}
	d.Format = "vhd"
	d.Size = size - vhdFooterSize
	ft, err := ParseVHDFooter(foot)
	if err != nil {
		d.Problems = append(d.Problems, Problem{path, size - vhdFooterSize, err.Error() + "; reading the disk before it as a fixed VHD"})
		return nil
	}
	if ft.DiskType != vhdTypeFixed {
		return Problem{path, size - vhdFooterSize + 60, fmt.Sprintf("a %s VHD: only fixed VHDs (what Azure exports) are read; convert it with `qemu-img convert -O raw`", vhdTypeName(ft.DiskType))}
	}
	if int64(ft.CurrentSize) != d.Size {
		d.Problems = append(d.Problems, Problem{path, size - vhdFooterSize + 48,
			fmt.Sprintf("VHD footer says the disk is %d bytes but %d precede the footer: truncated or padded image", ft.CurrentSize, d.Size)})
	}
	return nil
}

func (d *Disk) openVHDX(f *os.File, path string) error {
	v, err := vhdx.NewVHDXFile(f)
	if err != nil {
		return Problem{path, 0, "VHDX: " + err.Error()}
	}
	if v.Metadata.HasParent {
		return Problem{path, 0, "a differencing VHDX (it needs its parent disk): merge it first"}
	}
	d.ReaderAt, d.Size, d.Format = v, int64(v.Metadata.VirtualDiskSize), "vhdx"
	return nil
}

func (d *Disk) openVMDK(f *os.File, path string, size int64) error {
	dir := filepath.Dir(path)
	opener := func(name string) (io.ReaderAt, func(), error) {
		// Extent files are named relative to the descriptor; a name
		// that climbs out of its folder is refused.
		if filepath.IsAbs(name) || strings.Contains(name, "..") {
			return nil, nil, fmt.Errorf("extent %q: only files beside the descriptor are opened", name)
		}
		ef, err := openImageFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		d.closers = append(d.closers, ef)
		return ef, func() {}, nil
	}
	ctx, err := vmdk.GetVMDKContext(f, int(min(size, 1<<20)), opener)
	if err != nil {
		return Problem{path, 0, "VMDK: " + err.Error()}
	}
	d.ReaderAt, d.Size, d.Format = ctx, ctx.Size(), "vmdk"
	return nil
}

var ewfSegment = regexp.MustCompile(`(?i)^\.[e-z][0-9a-z]{2}$`)

// openEWF opens every segment beside path with the same base name
// (x.E01, x.E02, ...): go-ewf orders them by their own segment numbers.
func (d *Disk) openEWF(f *os.File, path string) error {
	readers := []io.ReaderAt{f}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), globEscape(base)+".*"))
	sort.Strings(matches)
	for _, m := range matches {
		if m == path || !ewfSegment.MatchString(filepath.Ext(m)) {
			continue
		}
		sf, err := openImageFile(m)
		if err != nil {
			d.Problems = append(d.Problems, Problem{m, 0, "EWF segment not readable: " + err.Error()})
			continue
		}
		head := make([]byte, len(ewfMagic))
		if _, err := sf.ReadAt(head, 0); err != nil || !bytes.Equal(head, ewfMagic) {
			sf.Close()
			continue
		}
		d.closers = append(d.closers, sf)
		readers = append(readers, sf)
	}
	e, err := ewf.OpenEWFFile(&ewf.EWFOptions{}, readers...)
	if err != nil {
		return Problem{path, 0, "E01: " + err.Error()}
	}
	size := e.TotalImageSize
	if size == 0 {
		size = e.ChunkSize * e.NumberOfChunks
	}
	d.ReaderAt, d.Size, d.Format = e, size, "e01"
	return nil
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}
