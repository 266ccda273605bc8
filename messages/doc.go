// Package messages holds the Go code generated from proto/ (never edited by
// hand) in its subpackages, and the stream framing codec in framing/. Its
// test checks that the generated code matches the .proto sources.
package messages
