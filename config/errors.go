package config

import "errors"

// ErrInvalidConfig is wrapped by every error that [Config.Validate] joins,
// one per field that is out of range.
var ErrInvalidConfig = errors.New("invalid config")

// ErrInvalidEnv is wrapped by [ApplyEnv] when a CONVENE_* variable holds a
// value that does not parse as its field's type.
var ErrInvalidEnv = errors.New("invalid environment variable")

// ErrInvalidFlag is wrapped by [Load] when the command line does not parse:
// an unknown flag, a value of the wrong type or an unexpected argument.
var ErrInvalidFlag = errors.New("invalid command line")

// ErrSecretFile is wrapped by [LoadOrCreateSecretFile], [ReadSecretFile] and
// [LoadOrCreateControlToken] when a secret file exists but cannot be used:
// not a regular file, readable or writable by group or others, or too short.
var ErrSecretFile = errors.New("invalid secret file")
