package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The types below implement flag.Value for the Config field types. Their
// String methods accept a nil receiver because the flag package calls them
// on zero values.

type stringValue string

func (v *stringValue) Set(s string) error {
	*v = stringValue(s)
	return nil
}

func (v *stringValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}

// secretValue is a string flag value whose String method hides the value, so
// neither -h defaults nor [Config.Describe] print it.
type secretValue string

func (v *secretValue) Set(s string) error {
	*v = secretValue(s)
	return nil
}

func (v *secretValue) String() string {
	if v == nil || *v == "" {
		return ""
	}
	return "<set>"
}

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("parse %q as an integer: %w", s, err)
	}
	*v = intValue(n)
	return nil
}

func (v *intValue) String() string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(int(*v))
}

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("parse %q as a number: %w", s, err)
	}
	*v = floatValue(f)
	return nil
}

func (v *floatValue) String() string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*v), 'g', -1, 64)
}

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("parse %q as a duration such as 500ms or 30s: %w", s, err)
	}
	*v = durationValue(d)
	return nil
}

func (v *durationValue) String() string {
	if v == nil {
		return ""
	}
	return time.Duration(*v).String()
}

// timeValue parses RFC 3339. The empty string sets the zero time.
type timeValue time.Time

func (v *timeValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		*v = timeValue(time.Time{})
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("parse %q as an RFC 3339 time such as 2030-01-02T15:04:05Z: %w", s, err)
	}
	*v = timeValue(t)
	return nil
}

func (v *timeValue) String() string {
	if v == nil || time.Time(*v).IsZero() {
		return ""
	}
	return time.Time(*v).Format(time.RFC3339)
}

// listValue parses a comma-separated list. Spaces around items and empty
// items are dropped, so "" sets an empty list. Each Set replaces the list.
type listValue []string

func (v *listValue) Set(s string) error {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item != "" {
			items = append(items, item)
		}
	}
	*v = items
	return nil
}

func (v *listValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(*v, ",")
}
