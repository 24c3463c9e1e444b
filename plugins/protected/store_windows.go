//go:build windows

package protected

// NOT RUN ON REAL WINDOWS: this file is cross-compiled (GOOS=windows go
// build ./...) but has never been executed on a Windows VM. It follows
// the documented CryptoAPI calls the way azure-extension-platform
// (pkg/decrypt/decypt_windows.go) decrypts protected settings.

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	modcrypt32              = windows.NewLazySystemDLL("crypt32.dll")
	procCryptDecryptMessage = modcrypt32.NewProc("CryptDecryptMessage")
)

// cryptDecryptMessagePara is CRYPT_DECRYPT_MESSAGE_PARA.
type cryptDecryptMessagePara struct {
	cbSize                   uint32
	dwMsgAndCertEncodingType uint32
	cMsgAndCertStore         uint32
	rghCertStore             *windows.Handle
	dwFlags                  uint32
}

type winStore struct{}

func (winStore) Name() string { return `cert:LocalMachine\My` }

func init() {
	openSystemStore = func() (systemStore, error) {
		h, err := openMy()
		if err != nil {
			return nil, err
		}
		windows.CertCloseStore(h, 0)
		return winStore{}, nil
	}
}

func openMy() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("MY")
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM, 0, 0,
		windows.CERT_SYSTEM_STORE_LOCAL_MACHINE|windows.CERT_STORE_OPEN_EXISTING_FLAG|windows.CERT_STORE_READONLY_FLAG,
		uintptr(unsafe.Pointer(name)))
	if err != nil {
		return 0, fmt.Errorf(`opening LocalMachine\My: %w`, err)
	}
	return h, nil
}

// Decrypt hands the DER CMS to CryptDecryptMessage with LocalMachine\My:
// CryptoAPI finds the recipient's certificate and its (CNG or CAPI)
// private key, which need not be exportable. Needs the rights to use the
// machine key (SYSTEM or an administrator).
func (winStore) Decrypt(der []byte) ([]byte, string, error) {
	if len(der) == 0 || len(der) > maxBlob {
		return nil, "", errors.New("blob size out of range")
	}
	h, err := openMy()
	if err != nil {
		return nil, "", err
	}
	defer windows.CertCloseStore(h, 0)
	para := cryptDecryptMessagePara{
		dwMsgAndCertEncodingType: windows.X509_ASN_ENCODING | windows.PKCS_7_ASN_ENCODING,
		cMsgAndCertStore:         1,
		rghCertStore:             &h,
	}
	para.cbSize = uint32(unsafe.Sizeof(para))
	var n uint32
	var cert *windows.CertContext
	r, _, e := procCryptDecryptMessage.Call(uintptr(unsafe.Pointer(&para)), uintptr(unsafe.Pointer(&der[0])), uintptr(len(der)),
		0, uintptr(unsafe.Pointer(&n)), 0)
	if r == 0 {
		return nil, "", fmt.Errorf("CryptDecryptMessage: %v", e)
	}
	if n == 0 || n > maxBlob {
		return nil, "", fmt.Errorf("CryptDecryptMessage: plaintext size %d out of range", n)
	}
	out := make([]byte, n)
	r, _, e = procCryptDecryptMessage.Call(uintptr(unsafe.Pointer(&para)), uintptr(unsafe.Pointer(&der[0])), uintptr(len(der)),
		uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&n)), uintptr(unsafe.Pointer(&cert)))
	if r == 0 {
		return nil, "", fmt.Errorf("CryptDecryptMessage: %v", e)
	}
	thumb := ""
	if cert != nil {
		raw := unsafe.Slice(cert.EncodedCert, cert.Length)
		sum := sha1.Sum(raw)
		thumb = strings.ToUpper(hex.EncodeToString(sum[:]))
		windows.CertFreeCertificateContext(cert)
	}
	return out[:n], thumb, nil
}
