package protected

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/azvql/azvql/plugins/evidence"
)

// WaagentDir is where the Linux guest agent keeps the tenant certificates.
const WaagentDir = "/var/lib/waagent"

// maxKeyFile caps what is read of one key or certificate file.
const maxKeyFile = 4 << 20

// TODO(windows-live): on a live Windows VM the tenant certificates are in
// the LocalMachine\My store with CNG/CAPI machine keys. A later step adds a
// windows-only source that opens the store (CertOpenStore with
// CERT_SYSTEM_STORE_LOCAL_MACHINE, CertFindCertificateInStore by SHA-1
// hash) and decrypts through CryptDecryptMessage / NCryptDecrypt, since
// the keys are usually not exportable. Offline Windows images need the
// DPAPI machine master key (SYSTEM + SECURITY hives): out of scope here.

// LoadWaagent loads every key the Linux agent left under dir (WaagentDir
// when ""), read through root, in this order:
//
//  1. <THUMB>.crt + <THUMB>.prv pairs (every *.crt and *.prv of dir);
//  2. Certificates.pem (all certificates and keys of the tenant PFX);
//  3. the tenant PFX recovered from Certificates.xml or Certificates.p7m
//     with TransportPrivate.pem (+ TransportCert.pem): the keys of
//     certificates whose .prv files are gone.
//
// It returns how many new keys and certificates were added; what could
// not be read is in Warnings (and in the returned error when nothing was
// found at all).
//
// It is long because the sources are tried in order, each later one only
// filling what the earlier ones left, with closures over one count.
func (k *KeyRing) LoadWaagent(root *evidence.Root, dir string) (int, error) {
	if dir == "" {
		dir = WaagentDir
	}
	if e, err := root.Lstat(dir); err != nil {
		return 0, err
	} else if e.IsLink {
		// Key files are never loaded through a link: on a mounted image
		// it would decrypt with (or parse) the analyst's own files.
		return 0, evidence.CheckFile(e)
	}
	n := 0
	read := func(p string) ([]byte, bool) {
		data, truncated, err := root.ReadCapped(p, maxKeyFile)
		if err != nil {
			k.warnf("%s: %v", p, err)
			return nil, false
		}
		if truncated {
			k.warnf("%s: larger than %d bytes, skipped", p, maxKeyFile)
			return nil, false
		}
		return data, true
	}
	// 1. <THUMB>.crt / .prv: certificates first, so each key pairs as it
	// is added and keeps the .prv path as its source.
	for _, pat := range []string{"*.crt", "*.prv"} {
		list, _ := root.Glob(evidence.JoinOSPath(dir, pat))
		for _, e := range list {
			if e.IsDir {
				k.warnf("%s: a folder, not a key file: not read", e.OSPath)
				continue
			}
			data, ok := read(e.OSPath)
			if !ok {
				continue
			}
			// The agent writes PEM here; PKCS#12 (key derivation work
			// chosen by the file) is not tried on evidence files.
			added, err := k.addData(data, "", e.OSPath, false)
			if err != nil {
				k.warnf("%v", err)
			}
			n += added
		}
	}
	// 2. Certificates.pem.
	pemPath := evidence.JoinOSPath(dir, "Certificates.pem")
	if root.Exists(pemPath) {
		if data, ok := read(pemPath); ok {
			added, err := k.AddPEM(data, pemPath)
			if err != nil {
				k.warnf("%v", err)
			}
			n += added
		}
	}
	// 3. Certificates.xml / Certificates.p7m with the transport key.
	var docs []string
	for _, name := range []string{"Certificates.xml", "Certificates.p7m"} {
		if p := evidence.JoinOSPath(dir, name); root.Exists(p) {
			docs = append(docs, p)
		}
	}
	if len(docs) > 0 {
		transport := NewKeyRing()
		for _, name := range []string{"TransportCert.pem", "TransportPrivate.pem"} {
			p := evidence.JoinOSPath(dir, name)
			if !root.Exists(p) {
				continue
			}
			if data, ok := read(p); ok {
				if _, err := transport.AddPEM(data, p); err != nil {
					k.warnf("%v", err)
				}
			}
		}
		if len(transport.Keys()) == 0 {
			k.warnf("%s: cannot recover the tenant certificates from %s: no TransportPrivate.pem", dir, strings.Join(docs, ", "))
		} else {
			for _, p := range docs {
				data, ok := read(p)
				if !ok {
					continue
				}
				added, err := k.AddCertificatesDocument(data, transport, p)
				if err != nil {
					k.warnf("%s: %v", p, err)
				}
				n += added
			}
		}
	}
	if len(k.Keys()) == 0 {
		return n, fmt.Errorf("%s: no private keys found (%d warnings)", dir, len(k.Warnings()))
	}
	return n, nil
}

// AddCertificatesDocument recovers the tenant certificates and keys from
// the WireServer Certificates document: Certificates.xml
// (<CertificateFile>...<Data>base64 CMS</Data>), the agent's MIME-wrapped
// Certificates.p7m, or the bare CMS (base64 or DER). The CMS is decrypted
// with a transport key of transport; its content is a PFX with the empty
// password, read like `openssl pkcs12 -nodes -password pass: [-nomacver]`.
func (k *KeyRing) AddCertificatesDocument(doc []byte, transport *KeyRing, source string) (int, error) {
	der, err := certificatesDER(doc)
	if err != nil {
		return 0, err
	}
	res, err := transport.DecryptDER(der, "")
	if err != nil {
		return 0, fmt.Errorf("decrypting the Certificates document with the transport key: %w", err)
	}
	n, err := k.AddPKCS12(res.Raw, "", source)
	if err != nil {
		return 0, fmt.Errorf("the decrypted Certificates document: %w", err)
	}
	return n, nil
}

// certificatesDER finds the CMS in a Certificates document.
func certificatesDER(doc []byte) ([]byte, error) {
	doc = bytes.TrimPrefix(doc, []byte{0xEF, 0xBB, 0xBF})
	if len(doc) > 0 && doc[0] == 0x30 {
		return doc, nil
	}
	text := doc
	if i := bytes.Index(text, []byte("<Data>")); i >= 0 {
		text = text[i+len("<Data>"):]
		j := bytes.Index(text, []byte("</Data>"))
		if j < 0 {
			return nil, corrupt("Certificates.xml: <Data> is not closed")
		}
		if f := bytes.Index(doc, []byte("<Format>")); f >= 0 && !bytes.Contains(doc[f:], []byte("<Format>Pkcs7BlobWithPfxContents</Format>")) {
			return nil, corrupt("Certificates.xml: Format is not Pkcs7BlobWithPfxContents")
		}
		text = text[:j]
	} else if bytes.HasPrefix(bytes.TrimSpace(text), []byte("MIME-Version")) || bytes.Contains(text[:min(len(text), 512)], []byte("Content-Type:")) {
		// MIME: headers, a blank line, the base64 body.
		norm := bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
		i := bytes.Index(norm, []byte("\n\n"))
		if i < 0 {
			return nil, corrupt("Certificates.p7m: MIME headers without a body")
		}
		text = norm[i+2:]
	}
	der, err := decodeBase64(string(text))
	if err != nil {
		return nil, corrupt("Certificates document: the CMS is not base64: %v", err)
	}
	return der, nil
}

// stripPFXMac re-encodes a PFX without its MacData, so that an empty-
// password PFX whose MAC does not verify can still be read (-nomacver).
func stripPFXMac(data []byte) ([]byte, error) {
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  asn1.RawValue `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(data, &pfx)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 || len(pfx.MacData.FullBytes) == 0 {
		return nil, errors.New("no MAC to strip")
	}
	return asn1.Marshal(struct {
		Version  int
		AuthSafe asn1.RawValue
	}{pfx.Version, pfx.AuthSafe})
}
