package control

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/convene/convene/messages/signalingv1"
)

// Request limits, in bytes unless stated otherwise.
const (
	maxMeetingIDBytes     = 128
	maxParticipantIDBytes = 128
	maxReasonBytes        = 256
	maxControllerIDBytes  = 256
	maxMediaHandlers      = 16 // count, not bytes
	maxMediaHandlerBytes  = 2048
	maxRegionBytes        = 256
	maxPageSize           = 1000 // count of meetings
	defaultPageSize       = 100  // count of meetings, used when page_size is 0
)

// fieldError is a request validation error. Its message names the field and
// the broken rule, and it wraps [ErrInvalidArgument] so that toStatus maps it
// to INVALID_ARGUMENT.
type fieldError struct {
	field   string
	problem string
}

func (e *fieldError) Error() string { return e.field + ": " + e.problem }

func (e *fieldError) Unwrap() error { return ErrInvalidArgument }

func invalidField(field, format string, args ...any) error {
	return &fieldError{field: field, problem: fmt.Sprintf(format, args...)}
}

// validateID checks an identifier: 1 to maxBytes bytes of valid UTF-8 with
// no control characters (Unicode category Cc).
func validateID(field, value string, maxBytes int) error {
	if value == "" {
		return invalidField(field, "missing")
	}
	if len(value) > maxBytes {
		return invalidField(field, "longer than %d bytes", maxBytes)
	}
	if !utf8.ValidString(value) {
		return invalidField(field, "invalid UTF-8")
	}
	for i, r := range value {
		if unicode.IsControl(r) {
			return invalidField(field, "control character %U at byte %d", r, i)
		}
	}
	return nil
}

// validateMaxBytes checks an optional free-text field against its length
// limit.
func validateMaxBytes(field, value string, maxBytes int) error {
	if len(value) > maxBytes {
		return invalidField(field, "longer than %d bytes", maxBytes)
	}
	return nil
}

// validateRequired checks a field that must be non-empty and at most maxBytes
// long.
func validateRequired(field, value string, maxBytes int) error {
	if value == "" {
		return invalidField(field, "missing")
	}
	return validateMaxBytes(field, value, maxBytes)
}

// validateMediaHandlers checks the count and each handler's fields, and
// rejects two handlers with the same ID.
func validateMediaHandlers(handlers []*signalingv1.MediaHandler) error {
	if len(handlers) > maxMediaHandlers {
		return invalidField("media_handlers", "%d entries, more than %d", len(handlers), maxMediaHandlers)
	}

	firstIndex := make(map[string]int, len(handlers))
	for i, handler := range handlers {
		prefix := fmt.Sprintf("media_handlers[%d]", i)
		if handler == nil {
			return invalidField(prefix, "missing")
		}
		if err := validateRequired(prefix+".id", handler.GetId(), maxMediaHandlerBytes); err != nil {
			return err
		}
		if err := validateRequired(prefix+".url", handler.GetUrl(), maxMediaHandlerBytes); err != nil {
			return err
		}
		if err := validateMaxBytes(prefix+".region", handler.GetRegion(), maxRegionBytes); err != nil {
			return err
		}
		if previous, ok := firstIndex[handler.GetId()]; ok {
			return invalidField(prefix+".id", "duplicate of media_handlers[%d].id", previous)
		}
		firstIndex[handler.GetId()] = i
	}
	return nil
}

// pageSize validates a requested page size and applies the default for 0.
func pageSize(requested int32) (int, error) {
	if requested < 0 {
		return 0, invalidField("page_size", "%d is negative", requested)
	}
	if requested > maxPageSize {
		return 0, invalidField("page_size", "%d is more than %d", requested, maxPageSize)
	}
	if requested == 0 {
		return defaultPageSize, nil
	}
	return int(requested), nil
}
