// Package config defines the settings of a Convene node: one [Config] struct
// with documented defaults and limits, loaded from defaults, then CONVENE_*
// environment variables, then command-line flags.
//
// Every field has one descriptor that names its flag (--foo-bar) and its
// environment variable (CONVENE_FOO_BAR), so flags, environment and help text
// always list the same settings. [Load] runs the three steps in order and
// validates the result.
//
// The package also creates and reads the secret files a node keeps in its
// data directory: the master secret and the control token.
package config
