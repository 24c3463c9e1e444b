package protected

// CMS EnvelopedData (RFC 5652 §6) parsing and decryption, for the
// protectedSettings blobs CRP writes and the Certificates document the
// WireServer sends. Neither maintained Go CMS library decrypts every form
// these take (smallstep/pkcs7 v0.2.3 has no SubjectKeyIdentifier
// recipients and no AES-192, and its CBC path panics on ciphertext that is
// not a whole number of blocks; Velocidex/pkcs7 has no OAEP and no SKI
// recipients), so the structure is walked here with encoding/asn1 and the
// primitives are the standard library's: crypto/rsa, crypto/des,
// crypto/aes, crypto/cipher. Every field is checked for class, tag and
// size before use: garbage gives a CorruptError, never a panic.

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rsa"
	"crypto/sha1"
	_ "crypto/sha256" // SHA-224/256 for OAEP
	_ "crypto/sha512" // SHA-384/512 for OAEP
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// Algorithm identifiers.
var (
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAESOAEP     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidPSpecified    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// contentCipher is a supported content-encryption algorithm.
type contentCipher struct {
	name    string
	keyLen  int
	newFunc func(key []byte) (cipher.Block, error)
}

var contentCiphers = map[string]contentCipher{
	"1.2.840.113549.3.7":      {"des-ede3-cbc", 24, des.NewTripleDESCipher},
	"2.16.840.1.101.3.4.1.2":  {"aes-128-cbc", 16, aes.NewCipher},
	"2.16.840.1.101.3.4.1.22": {"aes-192-cbc", 24, aes.NewCipher},
	"2.16.840.1.101.3.4.1.42": {"aes-256-cbc", 32, aes.NewCipher},
}

// knownOIDs names algorithms that appear in CMS but are not supported, so
// error messages can say what the blob uses.
var knownOIDs = map[string]string{
	"1.2.840.113549.3.2":         "rc2-cbc",
	"1.2.840.113549.3.4":         "rc4",
	"1.3.14.3.2.7":               "des-cbc",
	"2.16.840.1.101.3.4.1.6":     "aes-128-gcm",
	"2.16.840.1.101.3.4.1.26":    "aes-192-gcm",
	"2.16.840.1.101.3.4.1.46":    "aes-256-gcm",
	"2.16.840.1.101.3.4.1.5":     "aes-128-wrap",
	"2.16.840.1.101.3.4.1.45":    "aes-256-wrap",
	"1.2.392.200011.61.1.1.1.2":  "camellia-128-cbc",
	"1.2.392.200011.61.1.1.1.3":  "camellia-192-cbc",
	"1.2.392.200011.61.1.1.1.4":  "camellia-256-cbc",
	"1.2.840.113549.1.9.16.3.18": "chacha20-poly1305",
	"1.2.840.10045.2.1":          "ec public key (key agreement)",
	"1.2.840.113549.1.1.10":      "rsassa-pss",
}

// RecipientKind says how a KeyTransRecipientInfo names its certificate.
type RecipientKind int

const (
	RecipientOther        RecipientKind = iota // kari, kekri, pwri, ori: not key transport
	RecipientIssuerSerial                      // IssuerAndSerialNumber
	RecipientSKI                               // [0] SubjectKeyIdentifier
)

func (k RecipientKind) String() string {
	switch k {
	case RecipientIssuerSerial:
		return "IssuerAndSerialNumber"
	case RecipientSKI:
		return "SubjectKeyIdentifier"
	}
	return "other"
}

// Recipient is one RecipientInfo of the envelope.
type Recipient struct {
	Kind         RecipientKind
	Issuer       []byte   // DER Name (IssuerAndSerialNumber)
	Serial       *big.Int // (IssuerAndSerialNumber)
	SKI          []byte   // (SubjectKeyIdentifier)
	KeyAlg       asn1.ObjectIdentifier
	KeyAlgParams []byte // DER of the parameters, nil when absent
	EncryptedKey []byte
}

// Envelope is a parsed CMS EnvelopedData.
type Envelope struct {
	Version      int
	Recipients   []Recipient
	CipherOID    asn1.ObjectIdentifier
	CipherParams []byte // DER of the content-encryption algorithm parameters
	Ciphertext   []byte
}

// CipherName is the readable name of the content cipher ("" if unknown).
func (e *Envelope) CipherName() string {
	oid := e.CipherOID.String()
	if c, ok := contentCiphers[oid]; ok {
		return c.name
	}
	return knownOIDs[oid]
}

// Cipher names the content cipher: its name, or its OID when unknown.
func (e *Envelope) Cipher() string {
	if n := e.CipherName(); n != "" {
		return n
	}
	return e.CipherOID.String()
}

// maxBlob bounds what ParseEnvelope accepts (a protectedSettings blob is a
// few KB, a Certificates document tens of KB).
const maxBlob = 16 << 20

// element reads one DER element of the expected class and tag.
func element(b []byte, class, tag int, what string) (asn1.RawValue, []byte, error) {
	var rv asn1.RawValue
	rest, err := asn1.Unmarshal(b, &rv)
	if err != nil {
		return rv, nil, corrupt("%s: %v", what, err)
	}
	if rv.Class != class || rv.Tag != tag {
		return rv, nil, corrupt("%s: expected class %d tag %d, found class %d tag %d", what, class, tag, rv.Class, rv.Tag)
	}
	return rv, rest, nil
}

func parseOID(rv asn1.RawValue, what string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(rv.FullBytes, &oid)
	if err != nil || len(rest) != 0 {
		return nil, corrupt("%s: not an OBJECT IDENTIFIER", what)
	}
	return oid, nil
}

// algorithmIdentifier parses SEQUENCE { OID, parameters ANY OPTIONAL }.
func algorithmIdentifier(b []byte, what string) (asn1.ObjectIdentifier, []byte, []byte, error) {
	seq, rest, err := element(b, asn1.ClassUniversal, asn1.TagSequence, what)
	if err != nil {
		return nil, nil, nil, err
	}
	oidRV, params, err := element(seq.Bytes, asn1.ClassUniversal, asn1.TagOID, what+" algorithm")
	if err != nil {
		return nil, nil, nil, err
	}
	oid, err := parseOID(oidRV, what+" algorithm")
	if err != nil {
		return nil, nil, nil, err
	}
	if len(params) == 0 {
		params = nil
	}
	return oid, params, rest, nil
}

// ParseEnvelope parses DER ContentInfo { envelopedData, EnvelopedData }.
// It is long because it walks the EnvelopedData structure top-down, one
// field after the other, each with an error that names what is damaged.
func ParseEnvelope(der []byte) (*Envelope, error) {
	if len(der) == 0 {
		return nil, corrupt("empty")
	}
	if len(der) > maxBlob {
		return nil, corrupt("%d bytes is larger than the %d a CMS blob may be", len(der), maxBlob)
	}
	if der[0] != 0x30 {
		return nil, corrupt("not DER: first byte 0x%02x, a CMS ContentInfo starts with 0x30", der[0])
	}
	if len(der) > 1 && der[1] == 0x80 {
		return nil, corrupt("BER indefinite-length encoding is not supported (re-encode as DER)")
	}
	ci, rest, err := element(der, asn1.ClassUniversal, asn1.TagSequence, "ContentInfo")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimRight(rest, "\x00")) != 0 {
		return nil, corrupt("%d bytes of trailing data after ContentInfo", len(rest))
	}
	oidRV, body, err := element(ci.Bytes, asn1.ClassUniversal, asn1.TagOID, "ContentInfo contentType")
	if err != nil {
		return nil, err
	}
	ct, err := parseOID(oidRV, "ContentInfo contentType")
	if err != nil {
		return nil, err
	}
	if !ct.Equal(oidEnvelopedData) {
		return nil, corrupt("content type %s is not envelopedData (1.2.840.113549.1.7.3)", ct)
	}
	wrap, _, err := element(body, asn1.ClassContextSpecific, 0, "ContentInfo content")
	if err != nil {
		return nil, err
	}
	ed, _, err := element(wrap.Bytes, asn1.ClassUniversal, asn1.TagSequence, "EnvelopedData")
	if err != nil {
		return nil, err
	}
	env := &Envelope{}
	b := ed.Bytes
	var ver int
	verRV, b, err := element(b, asn1.ClassUniversal, asn1.TagInteger, "EnvelopedData version")
	if err != nil {
		return nil, err
	}
	if _, err := asn1.Unmarshal(verRV.FullBytes, &ver); err != nil {
		return nil, corrupt("EnvelopedData version: %v", err)
	}
	env.Version = ver
	// originatorInfo [0] IMPLICIT OPTIONAL: skip.
	var peek asn1.RawValue
	if _, err := asn1.Unmarshal(b, &peek); err == nil && peek.Class == asn1.ClassContextSpecific && peek.Tag == 0 {
		_, b, _ = element(b, asn1.ClassContextSpecific, 0, "originatorInfo")
	}
	set, b, err := element(b, asn1.ClassUniversal, asn1.TagSet, "recipientInfos")
	if err != nil {
		return nil, err
	}
	for rb := set.Bytes; len(rb) > 0; {
		var ri asn1.RawValue
		rb, err = asn1.Unmarshal(rb, &ri)
		if err != nil {
			return nil, corrupt("RecipientInfo %d: %v", len(env.Recipients), err)
		}
		r, err := parseRecipient(ri, len(env.Recipients))
		if err != nil {
			return nil, err
		}
		env.Recipients = append(env.Recipients, r)
		if len(env.Recipients) > 1024 {
			return nil, corrupt("more than 1024 recipients")
		}
	}
	if len(env.Recipients) == 0 {
		return nil, corrupt("no recipients")
	}
	eci, _, err := element(b, asn1.ClassUniversal, asn1.TagSequence, "EncryptedContentInfo")
	if err != nil {
		return nil, err
	}
	_, eb, err := element(eci.Bytes, asn1.ClassUniversal, asn1.TagOID, "EncryptedContentInfo contentType")
	if err != nil {
		return nil, err
	}
	env.CipherOID, env.CipherParams, eb, err = algorithmIdentifier(eb, "contentEncryptionAlgorithm")
	if err != nil {
		return nil, err
	}
	if len(eb) == 0 {
		return nil, corrupt("no encryptedContent (detached content is not supported)")
	}
	ec, _, err := element(eb, asn1.ClassContextSpecific, 0, "encryptedContent")
	if err != nil {
		return nil, err
	}
	if !ec.IsCompound {
		env.Ciphertext = ec.Bytes
	} else {
		// Constructed form: a series of OCTET STRINGs to concatenate.
		var buf bytes.Buffer
		for cb := ec.Bytes; len(cb) > 0; {
			var part asn1.RawValue
			cb, err = asn1.Unmarshal(cb, &part)
			if err != nil {
				return nil, corrupt("encryptedContent segment: %v", err)
			}
			if part.Class != asn1.ClassUniversal || part.Tag != asn1.TagOctetString || part.IsCompound {
				return nil, corrupt("encryptedContent segment is not a primitive OCTET STRING")
			}
			buf.Write(part.Bytes)
		}
		env.Ciphertext = buf.Bytes()
	}
	return env, nil
}

func parseRecipient(ri asn1.RawValue, i int) (Recipient, error) {
	r := Recipient{}
	if ri.Class != asn1.ClassUniversal || ri.Tag != asn1.TagSequence {
		// KeyAgreeRecipientInfo [1], KEKRecipientInfo [2], ... : kept so
		// the caller can say why nothing matched.
		r.Kind = RecipientOther
		return r, nil
	}
	what := fmt.Sprintf("RecipientInfo %d", i)
	_, b, err := element(ri.Bytes, asn1.ClassUniversal, asn1.TagInteger, what+" version")
	if err != nil {
		return r, err
	}
	var rid asn1.RawValue
	b, err = asn1.Unmarshal(b, &rid)
	if err != nil {
		return r, corrupt("%s rid: %v", what, err)
	}
	switch {
	case rid.Class == asn1.ClassUniversal && rid.Tag == asn1.TagSequence:
		r.Kind = RecipientIssuerSerial
		name, sb, err := element(rid.Bytes, asn1.ClassUniversal, asn1.TagSequence, what+" issuer")
		if err != nil {
			return r, err
		}
		r.Issuer = name.FullBytes
		serRV, _, err := element(sb, asn1.ClassUniversal, asn1.TagInteger, what+" serialNumber")
		if err != nil {
			return r, err
		}
		if len(serRV.Bytes) == 0 || len(serRV.Bytes) > 64 {
			return r, corrupt("%s serialNumber: %d bytes", what, len(serRV.Bytes))
		}
		r.Serial = new(big.Int)
		if _, err := asn1.Unmarshal(serRV.FullBytes, &r.Serial); err != nil {
			return r, corrupt("%s serialNumber: %v", what, err)
		}
	case rid.Class == asn1.ClassContextSpecific && rid.Tag == 0 && !rid.IsCompound:
		r.Kind = RecipientSKI
		r.SKI = rid.Bytes
	default:
		return r, corrupt("%s rid: unexpected class %d tag %d", what, rid.Class, rid.Tag)
	}
	r.KeyAlg, r.KeyAlgParams, b, err = algorithmIdentifier(b, what+" keyEncryptionAlgorithm")
	if err != nil {
		return r, err
	}
	ek, _, err := element(b, asn1.ClassUniversal, asn1.TagOctetString, what+" encryptedKey")
	if err != nil {
		return r, err
	}
	if ek.IsCompound || len(ek.Bytes) == 0 {
		return r, corrupt("%s encryptedKey is empty or constructed", what)
	}
	r.EncryptedKey = ek.Bytes
	return r, nil
}

// checkCipher reports an UnsupportedCipherError for content ciphers this
// package does not implement.
func (e *Envelope) checkCipher() (contentCipher, error) {
	c, ok := contentCiphers[e.CipherOID.String()]
	if !ok {
		return c, &UnsupportedCipherError{OID: e.CipherOID.String(), Name: knownOIDs[e.CipherOID.String()], Role: "content cipher"}
	}
	return c, nil
}

// iv returns the CBC IV: the parameters are an OCTET STRING of one block.
func (e *Envelope) iv(blockSize int) ([]byte, error) {
	if e.CipherParams == nil {
		return nil, corrupt("%s has no IV parameter", e.Cipher())
	}
	rv, _, err := element(e.CipherParams, asn1.ClassUniversal, asn1.TagOctetString, "content cipher IV")
	if err != nil {
		return nil, err
	}
	if len(rv.Bytes) != blockSize {
		return nil, corrupt("%s IV is %d bytes, the block size is %d", e.Cipher(), len(rv.Bytes), blockSize)
	}
	return rv.Bytes, nil
}

// Matches says whether the recipient names cert (by issuer and serial or
// by subject key identifier) or, for a key without certificate, pub (by
// the RFC 5280 method-1 key identifier: SHA-1 of the subjectPublicKey).
func (r *Recipient) Matches(cert *x509.Certificate, pub *rsa.PublicKey) bool {
	switch r.Kind {
	case RecipientIssuerSerial:
		if cert == nil || r.Serial == nil || cert.SerialNumber == nil {
			return false
		}
		return cert.SerialNumber.Cmp(r.Serial) == 0 && bytes.Equal(cert.RawIssuer, r.Issuer)
	case RecipientSKI:
		if cert != nil && len(cert.SubjectKeyId) > 0 && bytes.Equal(cert.SubjectKeyId, r.SKI) {
			return true
		}
		if pub != nil && bytes.Equal(keyID(pub), r.SKI) {
			return true
		}
	}
	return false
}

// keyID is the RFC 5280 §4.2.1.2 method-1 identifier of an RSA key.
func keyID(pub *rsa.PublicKey) []byte {
	der := x509.MarshalPKCS1PublicKey(pub)
	sum := sha1.Sum(der)
	return sum[:]
}

// unwrapKey decrypts the content-encryption key with priv as the
// recipient's keyEncryptionAlgorithm says.
func (r *Recipient) unwrapKey(priv *rsa.PrivateKey) ([]byte, error) {
	switch {
	case r.KeyAlg.Equal(oidRSAEncryption):
		k, err := rsa.DecryptPKCS1v15(nil, priv, r.EncryptedKey)
		if err != nil {
			return nil, &WrongKeyError{Reason: "RSA PKCS#1 v1.5 decryption of the content key failed"}
		}
		return k, nil
	case r.KeyAlg.Equal(oidRSAESOAEP):
		h, mgf, label, err := oaepParams(r.KeyAlgParams)
		if err != nil {
			return nil, err
		}
		k, err := rsa.DecryptOAEP(h.New(), nil, priv, r.EncryptedKey, label)
		if err != nil {
			return nil, &WrongKeyError{Reason: "RSA-OAEP decryption of the content key failed"}
		}
		_ = mgf // DecryptOAEP uses the same hash for MGF1; oaepParams rejects others
		return k, nil
	}
	return nil, &UnsupportedCipherError{OID: r.KeyAlg.String(), Name: knownOIDs[r.KeyAlg.String()], Role: "key transport"}
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	case oid.Equal(oidSHA224):
		return crypto.SHA224, true
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// oaepParams parses RSAES-OAEP-params (RFC 4055 §4.1): hashAlgorithm [0],
// maskGenAlgorithm [1] (MGF1 with a hash), pSourceAlgorithm [2]
// (pSpecified label). Absent fields take the defaults SHA-1, MGF1-SHA-1
// and an empty label. Go's DecryptOAEP uses one hash for both OAEP and
// MGF1, so a different MGF1 hash is reported as unsupported.
func oaepParams(der []byte) (crypto.Hash, crypto.Hash, []byte, error) {
	h, mgf := crypto.SHA1, crypto.SHA1
	var label []byte
	unsupported := func(what string) error {
		return &UnsupportedCipherError{OID: oidRSAESOAEP.String(), Name: "rsaes-oaep with " + what, Role: "key transport"}
	}
	if len(der) == 0 || bytes.Equal(der, []byte{0x05, 0x00}) {
		return h, mgf, nil, nil
	}
	seq, _, err := element(der, asn1.ClassUniversal, asn1.TagSequence, "RSAES-OAEP-params")
	if err != nil {
		return 0, 0, nil, err
	}
	for b := seq.Bytes; len(b) > 0; {
		var f asn1.RawValue
		b, err = asn1.Unmarshal(b, &f)
		if err != nil {
			return 0, 0, nil, corrupt("RSAES-OAEP-params: %v", err)
		}
		if f.Class != asn1.ClassContextSpecific {
			return 0, 0, nil, corrupt("RSAES-OAEP-params: unexpected class %d", f.Class)
		}
		switch f.Tag {
		case 0:
			oid, _, _, err := algorithmIdentifier(f.Bytes, "OAEP hashAlgorithm")
			if err != nil {
				return 0, 0, nil, err
			}
			var ok bool
			if h, ok = hashFor(oid); !ok {
				return 0, 0, nil, unsupported("hash " + oid.String())
			}
		case 1:
			oid, p, _, err := algorithmIdentifier(f.Bytes, "OAEP maskGenAlgorithm")
			if err != nil {
				return 0, 0, nil, err
			}
			if !oid.Equal(oidMGF1) {
				return 0, 0, nil, unsupported("mask generation " + oid.String())
			}
			if p != nil {
				moid, _, _, err := algorithmIdentifier(p, "MGF1 hash")
				if err != nil {
					return 0, 0, nil, err
				}
				var ok bool
				if mgf, ok = hashFor(moid); !ok {
					return 0, 0, nil, unsupported("MGF1 hash " + moid.String())
				}
			}
		case 2:
			oid, p, _, err := algorithmIdentifier(f.Bytes, "OAEP pSourceAlgorithm")
			if err != nil {
				return 0, 0, nil, err
			}
			if !oid.Equal(oidPSpecified) {
				return 0, 0, nil, unsupported("pSource " + oid.String())
			}
			if p != nil {
				l, _, err := element(p, asn1.ClassUniversal, asn1.TagOctetString, "OAEP label")
				if err != nil {
					return 0, 0, nil, err
				}
				label = l.Bytes
			}
		default:
			return 0, 0, nil, corrupt("RSAES-OAEP-params: unexpected field [%d]", f.Tag)
		}
	}
	if h != mgf {
		return 0, 0, nil, unsupported(fmt.Sprintf("OAEP hash %v and MGF1 hash %v differing", h, mgf))
	}
	if !h.Available() {
		return 0, 0, nil, unsupported("hash " + h.String())
	}
	return h, mgf, label, nil
}

// decryptContent decrypts the content with the content-encryption key.
func (e *Envelope) decryptContent(c contentCipher, key []byte) ([]byte, error) {
	if len(key) != c.keyLen {
		return nil, &WrongKeyError{Reason: fmt.Sprintf("the decrypted content key is %d bytes, %s needs %d", len(key), c.name, c.keyLen)}
	}
	block, err := c.newFunc(key)
	if err != nil {
		return nil, &WrongKeyError{Reason: fmt.Sprintf("%s rejects the content key: %v", c.name, err)}
	}
	bs := block.BlockSize()
	iv, err := e.iv(bs)
	if err != nil {
		return nil, err
	}
	n := len(e.Ciphertext)
	if n == 0 || n%bs != 0 {
		return nil, corrupt("%s ciphertext is %d bytes, not a whole number of %d-byte blocks (truncated?)", c.name, n, bs)
	}
	out := make([]byte, n)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, e.Ciphertext)
	pad := int(out[n-1])
	if pad < 1 || pad > bs || pad > n {
		return nil, &WrongKeyError{Reason: fmt.Sprintf("%s padding check failed (wrong key, or damaged ciphertext)", c.name)}
	}
	for _, p := range out[n-pad:] {
		if int(p) != pad {
			return nil, &WrongKeyError{Reason: fmt.Sprintf("%s padding check failed (wrong key, or damaged ciphertext)", c.name)}
		}
	}
	return out[:n-pad], nil
}
