// Package certs creates, stores and loads the TLS certificate of the
// WebTransport signaling endpoint.
//
// Browsers accept a self-signed certificate for WebTransport when the page
// passes its SHA-256 hash in serverCertificateHashes. Chromium accepts such a
// certificate only if it uses an ECDSA P-256 key, its total validity
// (NotAfter minus NotBefore) is at most 14 days, and it is already valid.
// [SelfSigned] builds certificates that meet these rules, and [LoadOrCreate]
// keeps one in a data directory and replaces it one day before it expires.
// Operators with a certificate from a trusted CA use [Load] instead.
package certs
