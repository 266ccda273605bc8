package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/convene/convene/internal/privatefile"
)

const (
	// CertFileName is the name of the certificate file LoadOrCreate keeps in
	// its data directory.
	CertFileName = "signaling-cert.pem"

	// KeyFileName is the name of the private key file LoadOrCreate keeps in
	// its data directory. The file has mode 0600.
	KeyFileName = "signaling-key.pem"

	// RenewBefore is how long before NotAfter LoadOrCreate replaces a stored
	// certificate.
	RenewBefore = 24 * time.Hour
)

// LoadOrCreate loads the self-signed certificate stored in dataDir, or
// creates one with DefaultValidity when none is stored, when the stored one
// expires within RenewBefore of now, or when it is not yet valid at now.
// It creates dataDir with mode 0700 if missing and writes the key with mode
// 0600. It returns ErrInsecureKeyFile when the stored key file is accessible
// by group or others. It returns ErrInvalidCertificate when a stored file
// cannot be parsed, and then leaves the files unchanged.
//
// A replaced certificate has a new fingerprint, so clients that pin it need
// the new value. LoadOrCreate is not safe to call from several processes
// sharing dataDir at once.
func LoadOrCreate(dataDir string, now time.Time) (*Certificate, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create certificate directory %s: %w", dataDir, err)
	}

	certFile := filepath.Join(dataDir, CertFileName)
	keyFile := filepath.Join(dataDir, KeyFileName)

	cert, err := loadStored(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if cert != nil && !needsRenewal(cert.Leaf, now) {
		return cert, nil
	}

	cert, err = SelfSigned(now, DefaultValidity)
	if err != nil {
		return nil, err
	}
	if err := store(cert, certFile, keyFile); err != nil {
		return nil, err
	}
	return cert, nil
}

// Load reads an operator-provided PEM certificate chain and private key.
// Unlike LoadOrCreate it checks neither the key file mode nor the validity
// limits of serverCertificateHashes, because a certificate from a trusted CA
// needs no pinning. It returns an error wrapping ErrInvalidCertificate when
// the files cannot be parsed or do not match.
func Load(certFile, keyFile string) (*Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read certificate file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read private key file: %w", err)
	}
	return parsePair(certPEM, keyPEM, certFile, keyFile)
}

// loadStored returns nil and no error when neither file exists.
func loadStored(certFile, keyFile string) (*Certificate, error) {
	keyInfo, keyErr := os.Stat(keyFile)
	_, certErr := os.Stat(certFile)
	if errors.Is(keyErr, fs.ErrNotExist) && errors.Is(certErr, fs.ErrNotExist) {
		return nil, nil
	}
	if keyErr != nil {
		return nil, fmt.Errorf("stat private key file: %w", keyErr)
	}
	if certErr != nil {
		return nil, fmt.Errorf("stat certificate file: %w", certErr)
	}

	if err := privatefile.Check(keyFile, keyInfo); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInsecureKeyFile, err)
	}

	return Load(certFile, keyFile)
}

func parsePair(certPEM, keyPEM []byte, certFile, keyFile string) (*Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %s and %s: %w (delete both files to create a new self-signed pair)",
			ErrInvalidCertificate, certFile, keyFile, err)
	}
	if pair.Leaf == nil {
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCertificate, certFile, err)
		}
		pair.Leaf = leaf
	}
	return newCertificate(pair), nil
}

func needsRenewal(leaf *x509.Certificate, now time.Time) bool {
	return now.Before(leaf.NotBefore) || !now.Add(RenewBefore).Before(leaf.NotAfter)
}

func store(cert *Certificate, certFile, keyFile string) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.TLS.PrivateKey)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})

	// The key is replaced first. A crash between the two renames leaves a
	// mismatched pair, which the next start reports as ErrInvalidCertificate.
	if err := writeAtomic(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, certPEM, 0o644)
}

// writeAtomic writes data to a temporary file in the same directory and
// renames it over path, so readers never see a partly written file.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // fails harmlessly after a successful rename

	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("set mode of %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmpName, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmpName, path, err)
	}
	return nil
}
