#!/bin/sh
# gen_protected.sh - make the goalstates fixture's own tenant certificate and the protectedSettings CMS
# blobs of its legacy ExtensionsConfig.11.xml. Run BY HAND from the repository root; tests never run it.
# Each run makes a NEW key pair (new thumbprint) and new ciphertexts: then rebuild the trees with
#   python3 plugins/goalstate/testdata/mkfixtures.py
# and review the goldens that show them (tests/testcases/06*).
#
# Same openssl approach as tools/crypto/gen.sh and tools/fixtures/gen_protected.sh (docs/formats.md §2.1):
# self-signed RSA-2048 "DC=Windows Azure CRP Certificate Generator", 16-byte serial, validity back-dated
# (openssl ca -selfsign -startdate) around the fixture story (November 2021); `openssl cms -encrypt
# -binary -outform DER` with IssuerAndSerialNumber recipient, rsaEncryption, des-ede3-cbc or aes-256-cbc.
#
#   out: plugins/goalstate/testdata/protected/tenant.crt    PEM certificate   -> /var/lib/waagent/<THUMB>.crt
#        plugins/goalstate/testdata/protected/tenant.prv    PEM PKCS#8 key    -> /var/lib/waagent/<THUMB>.prv
#        plugins/goalstate/testdata/protected/thumbprint    upper-case SHA-1 of the certificate
#        plugins/goalstate/testdata/protected/<name>.b64    base64 (one line) of the DER CMS of <name>.json
#   in:  plugins/goalstate/testdata/protected/<name>.json   plaintexts (UTF-8 JSON, compact, no newline)
set -eu
D="$(pwd)/plugins/goalstate/testdata/protected"
[ -f "$D/rc1-4.json" ] || { echo "run from the repository root" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/ca.cnf" <<'CNF'
[ ca ]
default_ca = crp
[ crp ]
database = ./index.txt
new_certs_dir = .
serial = ./serial
default_md = sha256
policy = pol
unique_subject = no
copy_extensions = none
[ pol ]
domainComponent = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
DC = Windows Azure CRP Certificate Generator
CNF
(
  cd "$TMP"
  : > index.txt
  S=$(openssl rand -hex 16); printf '4%s\n' "${S#?}" > serial
  openssl req -new -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -config ca.cnf 2>/dev/null
  openssl ca -batch -config ca.cnf -selfsign -keyfile key.pem -in req.csr -out cert.pem \
    -startdate 20210901000000Z -enddate 20220901000000Z -notext 2>/dev/null
)
openssl x509 -in "$TMP/cert.pem" -out "$D/tenant.crt"
openssl pkey -in "$TMP/key.pem" -out "$D/tenant.prv"
openssl x509 -in "$D/tenant.crt" -noout -fingerprint -sha1 | sed 's/^.*=//; s/://g' | tr 'a-f' 'A-F' > "$D/thumbprint"
echo "thumbprint: $(cat "$D/thumbprint")"

# <name>:<cipher>: Run Command v1 (3DES, the historical default), Custom Script (AES-256, FIPS opt-in)
for item in rc1-4:des3 cse-2:aes256; do
  n=${item%%:*}; c=${item#*:}
  openssl cms -encrypt -binary -outform DER "-$c" -in "$D/$n.json" "$D/tenant.crt" | base64 -w0 > "$D/$n.b64"
  base64 -d < "$D/$n.b64" | openssl cms -decrypt -inform DER -inkey "$D/tenant.prv" -recip "$D/tenant.crt" | cmp - "$D/$n.json"
  echo "ok: $n ($c)"
done
