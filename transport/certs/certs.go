package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"time"
)

const (
	// MaxValidity is the longest total validity (NotAfter minus NotBefore)
	// that Chromium accepts for a certificate pinned by serverCertificateHashes.
	MaxValidity = 14 * 24 * time.Hour

	// DefaultValidity is the total validity SelfSigned uses when given zero.
	// It stays one day under MaxValidity.
	DefaultValidity = 13 * 24 * time.Hour

	// Backdate is how far before now a new certificate's NotBefore lies, so
	// that clients whose clocks run slightly behind already accept it. It
	// counts towards the total validity.
	Backdate = time.Hour
)

// Certificate is a TLS certificate with its parsed leaf and the SHA-256 hash
// of the leaf's DER encoding.
type Certificate struct {
	// TLS is the certificate chain and private key for tls.Config.Certificates.
	// TLS.Leaf is set.
	TLS tls.Certificate

	// Leaf is the parsed end-entity certificate.
	Leaf *x509.Certificate

	// SHA256 is the SHA-256 hash of Leaf.Raw, the value browsers expect in
	// serverCertificateHashes.
	SHA256 [32]byte
}

// Fingerprint returns the SHA-256 hash of the leaf certificate's DER
// encoding as lowercase hex (64 characters).
func (c *Certificate) Fingerprint() string {
	return hex.EncodeToString(c.SHA256[:])
}

// SelfSigned creates a self-signed ECDSA P-256 server certificate for
// 127.0.0.1, ::1 and localhost. NotBefore is now minus Backdate, truncated
// to whole seconds, and NotAfter is NotBefore plus validity, so validity is
// the total validity. A zero validity selects DefaultValidity. It returns
// ErrInvalidValidity when validity exceeds MaxValidity or does not exceed
// Backdate, because the certificate would then be rejected by Chromium or
// already be expired.
func SelfSigned(now time.Time, validity time.Duration) (*Certificate, error) {
	if validity == 0 {
		validity = DefaultValidity
	}
	if validity > MaxValidity || validity <= Backdate {
		return nil, fmt.Errorf("%w: got %s, want more than %s and at most %s",
			ErrInvalidValidity, validity, Backdate, MaxValidity)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
	}

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate certificate serial number: %w", err)
	}

	// X.509 stores times with one-second precision, so truncating here keeps
	// the encoded NotAfter minus NotBefore exactly equal to validity.
	notBefore := now.Add(-Backdate).UTC().Truncate(time.Second)
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "convene signaling"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}

	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create self-signed certificate: %w", err)
	}

	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse new certificate: %w", err)
	}

	return newCertificate(tls.Certificate{
		Certificate: [][]byte{der},
		PrivateKey:  key,
		Leaf:        leaf,
	}), nil
}

func newCertificate(cert tls.Certificate) *Certificate {
	return &Certificate{
		TLS:    cert,
		Leaf:   cert.Leaf,
		SHA256: sha256.Sum256(cert.Leaf.Raw),
	}
}
