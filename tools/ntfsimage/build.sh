#!/bin/sh
# Builds tests/images/windows-deleted.ntfs: a bare NTFS volume (mkntfs)
# holding tests/fixtures/windows (copied through an ntfs-3g FUSE mount),
# from which every handler folder under C:\Packages\Plugins was then
# deleted through the file system, as the agent does when an extension is
# removed. Their MFT records stay (marked free): what
# azure_mft_entries and Windows.Azure.DeletedExtensions recover.
# Needs root, /dev/fuse, mkntfs and ntfs-3g (Debian: apt-get install ntfs-3g).
# Run from the repository root; the result is committed (tests never run this).
set -eu
out=tests/images/windows-deleted.ntfs
tmp=$(mktemp -d)
trap 'umount "$tmp/mnt" 2>/dev/null || true; rm -rf "$tmp"' EXIT
truncate -s 4M "$tmp/c.ntfs"
mkntfs -q -F -Q -L azvql "$tmp/c.ntfs"
mkdir "$tmp/mnt"
ntfs-3g "$tmp/c.ntfs" "$tmp/mnt"
cp -r tests/fixtures/windows/. "$tmp/mnt/"
mkdir "$tmp/mnt/Windows"
sync
rm -rf "$tmp/mnt/Packages/Plugins/"*
fusermount -u "$tmp/mnt" 2>/dev/null || umount "$tmp/mnt"
mkdir -p tests/images
cp "$tmp/c.ntfs" "$out"  # uncompressed: git stores it compressed (about 150 KB)
ls -l "$out"
