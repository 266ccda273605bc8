package testnode

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// HTTPGet returns the status and body of a GET of url, waiting at most
// WaitTimeout.
func HTTPGet(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	// A fresh transport per request: keep-alive connections would hold the
	// node's HTTP server open during its Shutdown and leak idle goroutines.
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// WaitHTTPStatus polls url until it returns the status want and returns
// the body, and fails the test after WaitTimeout.
func WaitHTTPStatus(t testing.TB, url string, want int) string {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	lastStatus, lastBody, lastErr := 0, "", error(nil)
	for time.Now().Before(deadline) {
		lastStatus, lastBody, lastErr = HTTPGet(url)
		if lastErr == nil && lastStatus == want {
			return lastBody
		}
		time.Sleep(PollInterval)
	}
	t.Fatalf("GET %s: got status %d body %q error %v after %s, want %d", url, lastStatus, lastBody, lastErr, WaitTimeout, want)
	return ""
}

// Metrics is one scrape of a node's /metrics endpoint.
type Metrics struct {
	// Text is the exposition text as served.
	Text string
	// Families are the parsed metric families by name.
	Families map[string]*dto.MetricFamily
}

// ScrapeMetrics fetches http://httpAddr/metrics and parses it, and fails
// the test unless the status is 200 and the text parses.
func ScrapeMetrics(t testing.TB, httpAddr string) *Metrics {
	t.Helper()
	status, body, err := HTTPGet("http://" + httpAddr + "/metrics")
	if err != nil || status != http.StatusOK {
		t.Fatalf("GET /metrics: got status %d error %v, want 200", status, err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return &Metrics{Text: body, Families: families}
}

// Sample returns the value of the sample of family name whose labels
// equal labels, and whether it exists. A histogram's value is its sample
// count. A nil labels matches the sample without labels.
func (m *Metrics) Sample(name string, labels map[string]string) (float64, bool) {
	for _, metric := range m.Families[name].GetMetric() {
		if !labelsEqual(metric.GetLabel(), labels) {
			continue
		}
		switch {
		case metric.Counter != nil:
			return metric.GetCounter().GetValue(), true
		case metric.Gauge != nil:
			return metric.GetGauge().GetValue(), true
		case metric.Histogram != nil:
			return float64(metric.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func labelsEqual(pairs []*dto.LabelPair, labels map[string]string) bool {
	if len(pairs) != len(labels) {
		return false
	}
	for _, pair := range pairs {
		if value, ok := labels[pair.GetName()]; !ok || value != pair.GetValue() {
			return false
		}
	}
	return true
}

// WaitSample scrapes http://httpAddr/metrics every PollInterval until the
// sample of name with labels exists and equals want. It returns an error
// that names the last value after WaitTimeout, so the caller chooses
// between t.Error and t.Fatal.
func WaitSample(t testing.TB, httpAddr, name string, labels map[string]string, want float64) error {
	t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	got, ok := 0.0, false
	for time.Now().Before(deadline) {
		got, ok = ScrapeMetrics(t, httpAddr).Sample(name, labels)
		if ok && got == want {
			return nil
		}
		time.Sleep(PollInterval)
	}
	return fmt.Errorf("%s: got %v (present %v) after %s, want %v", SampleName(name, labels), got, ok, WaitTimeout, want)
}

// SampleName formats a sample as name{label="value",...} with the labels
// sorted.
func SampleName(name string, labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for label, value := range labels {
		pairs = append(pairs, fmt.Sprintf("%s=%q", label, value))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}
