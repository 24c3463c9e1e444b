package main

import (
	"fmt"
	"os"

	"github.com/azvql/azvql/plugins/diskimage"
	"github.com/azvql/azvql/plugins/evidence"
	"www.velocidex.com/golang/vfilter"
)

// --image makes a disk image the evidence: its OS volume becomes the
// "auto" accessor (the one every plugin and artifact uses when given no
// accessor), so artifacts run unchanged with their default Root ("/" or
// "C:\", both the volume's root) and report paths as on the VM. The same
// volume is also registered as "image"; "file" stays the analyst's own
// file system (key files given in DecryptKeys, --output).
var (
	imageFile = app.Flag("image", "Read this disk image (raw/dd, fixed VHD, VHDX, VMDK, E01) as the evidence: "+
		"its OS volume (NTFS with \\Windows, ext4 with /var/lib/waagent or /etc) becomes the default accessor; "+
		"artifacts run with their default Root. Read-only.").String()
	imagePartition = app.Flag("partition", "With --image: read this partition (its number in the partition table; "+
		"0 for an image of a bare file system) instead of the OS volume found.").Default("-1").Int()
)

// setupImage opens --image, reports what it found on stderr and makes
// its volume the default accessor. Damage is reported, not fatal.
func setupImage() (func(), error) {
	if *imageFile == "" {
		if *imagePartition != diskimage.AutoPartition {
			return nil, fmt.Errorf("--partition needs --image")
		}
		return func() {}, nil
	}
	img, err := diskimage.Open(*imageFile, *imagePartition)
	if err != nil {
		return nil, err
	}
	for _, p := range img.Problems {
		fmt.Fprintf(os.Stderr, "vql: warning: %v\n", p)
	}
	if *verbose {
		fmt.Fprintf(os.Stderr, "vql: %s\n", img.Describe())
	}
	acc := img.Accessor()
	factory := func(vfilter.Scope) (evidence.Accessor, error) { return acc, nil }
	evidence.Register("auto", factory)
	evidence.Register("image", factory)
	return func() { img.Close() }, nil
}
