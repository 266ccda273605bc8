package certs

import "errors"

var (
	// ErrInvalidValidity is returned by SelfSigned when the requested validity
	// is longer than MaxValidity or too short to cover the backdating margin.
	ErrInvalidValidity = errors.New("invalid certificate validity")

	// ErrInsecureKeyFile is returned by LoadOrCreate when the private key file
	// is readable or writable by group or others.
	ErrInsecureKeyFile = errors.New("private key file is accessible by group or others")

	// ErrInvalidCertificate is returned when a certificate or key file cannot
	// be parsed, or the key does not match the certificate.
	ErrInvalidCertificate = errors.New("invalid certificate")
)
