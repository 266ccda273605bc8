package cluster

import "errors"

// ErrUnknownProvider is returned by Start for a provider name it does not know.
var ErrUnknownProvider = errors.New("cluster: unknown provider")
