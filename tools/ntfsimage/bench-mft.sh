#!/bin/sh
# Builds the benchmark volume of docs/plugins-mftscan.md ("azure_mft_entries
# against stock parse_mft"): a bare NTFS volume (mkntfs) holding
# tests/fixtures/windows plus 100,000 small files in 1,000 folders (written
# through an ntfs-3g FUSE mount), so its $MFT has just over 100,000 real
# records with real parents; and that $MFT copied out, for parse_mft on a
# raw $MFT. Needs root, /dev/fuse, mkntfs and ntfs-3g. VR: a Velociraptor binary (copies the $MFT out). Nothing is committed:
# OUT (default /tmp/azvql-mft-bench) gets bench.ntfs and bench.MFT.
set -eu
out=${OUT:-/tmp/azvql-mft-bench}
mkdir -p "$out"
img="$out/bench.ntfs"
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
rm -f "$img"
truncate -s 1G "$img"
mkntfs -q -F -Q -L azvqlbench "$img"
ntfs-3g "$img" "$mnt"
cp -r tests/fixtures/windows/. "$mnt/"
mkdir -p "$mnt/Windows"
i=0
while [ $i -lt 1000 ]; do
	d="$mnt/Users/bench/AppData/Local/Cache/d$i"
	mkdir -p "$d"
	(cd "$d" && seq -f "f%g.txt" 0 99 | xargs touch)
	i=$((i + 1))
done
sync
fusermount -u "$mnt" 2>/dev/null || umount "$mnt"
# The $MFT as a file, copied out by stock Velociraptor's raw_ntfs accessor.
VR=${VR:-/work/main/bin/velociraptor-stock}
"$VR" query "SELECT copy(filename=pathspec(DelegateAccessor='file', DelegatePath='$img', Path='\$MFT'),
	accessor='raw_ntfs', dest='$out/bench.MFT') FROM scope()" >/dev/null
ls -l "$out"
