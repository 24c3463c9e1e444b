// Package diskimage reads a VM's disk image as evidence: the container
// (raw/dd, fixed VHD, VHDX, VMDK, E01 through Velocidex's readers), the
// partition table (MBR, GPT), and the NTFS (go-ntfs) or ext4 (go-ext4)
// file system of the OS partition, exposed as an evidence.Accessor with
// paths as they were on the VM. Nothing is ever written to the image.
package diskimage

import "fmt"

// Problem is damage found in an image: what a responder needs to judge
// it is the image, where (byte offset in the image or disk) and why.
// Reading goes on past a Problem wherever it can.
type Problem struct {
	Image  string
	Offset int64
	Reason string
}

func (p Problem) Error() string {
	return fmt.Sprintf("image %s: offset %d: %s", p.Image, p.Offset, p.Reason)
}
