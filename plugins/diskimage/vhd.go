package diskimage

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// VHD footer (Microsoft's "Virtual Hard Disk Image Format Specification"):
// the last 512 bytes of a fixed VHD, which is otherwise the raw disk. An
// Azure managed-disk export is a fixed VHD.
const (
	vhdFooterSize  = 512
	vhdCookie      = "conectix"
	vhdTypeFixed   = 2
	vhdTypeDynamic = 3
	vhdTypeDiff    = 4
)

// VHDFooter holds the fields of a VHD footer azvql relies on.
type VHDFooter struct {
	DiskType    uint32
	CurrentSize uint64 // bytes of disk the VM saw
	Checksum    uint32 // as stored
	Computed    uint32 // one's complement of the byte sum, checksum field as 0
}

// IsVHDFooter says whether b (512 bytes) starts with the VHD cookie.
func IsVHDFooter(b []byte) bool {
	return len(b) >= vhdFooterSize && bytes.Equal(b[:8], []byte(vhdCookie))
}

// ParseVHDFooter decodes a footer. A bad checksum is returned as an error
// together with the decoded footer: the caller decides whether to go on.
func ParseVHDFooter(b []byte) (VHDFooter, error) {
	if !IsVHDFooter(b) {
		return VHDFooter{}, fmt.Errorf("no VHD footer (cookie %q expected)", vhdCookie)
	}
	f := VHDFooter{
		CurrentSize: binary.BigEndian.Uint64(b[48:56]),
		DiskType:    binary.BigEndian.Uint32(b[60:64]),
		Checksum:    binary.BigEndian.Uint32(b[64:68]),
	}
	f.Computed = VHDChecksum(b)
	if f.Computed != f.Checksum {
		return f, fmt.Errorf("VHD footer checksum 0x%08x, computed 0x%08x: the footer is damaged or was edited", f.Checksum, f.Computed)
	}
	return f, nil
}

// VHDChecksum is the footer checksum: the one's complement of the sum of
// all footer bytes, the checksum field (bytes 64-67) counted as zero.
func VHDChecksum(b []byte) uint32 {
	var sum uint32
	for i, c := range b[:vhdFooterSize] {
		if i >= 64 && i < 68 {
			continue
		}
		sum += uint32(c)
	}
	return ^sum
}

func vhdTypeName(t uint32) string {
	switch t {
	case vhdTypeFixed:
		return "fixed"
	case vhdTypeDynamic:
		return "dynamic"
	case vhdTypeDiff:
		return "differencing"
	}
	return fmt.Sprintf("type %d", t)
}
