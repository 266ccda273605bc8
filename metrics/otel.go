package metrics

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// protoactorScope is the instrumentation scope name of protoactor-go's
// instruments (metrics.LibName in the pinned version).
const protoactorScope = "protoactor"

// receiveDurationBuckets replace the OpenTelemetry default bounds (0, 5,
// 10, 25, ... 10000), which suit milliseconds: receive times in seconds would
// almost all fall into the bucket from 0 to 5.
var receiveDurationBuckets = []float64{0.00001, 0.0001, 0.001, 0.01, 0.1, 1, 10}

// newMeterProvider returns a meter provider whose instruments are exported
// through registry.
func newMeterProvider(registry *prometheus.Registry) metric.MeterProvider {
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(registry),
		otelprom.WithoutTargetInfo(),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		panic(fmt.Sprintf("metrics: failed to register the OpenTelemetry exporter: %v", err))
	}

	return sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(protoactorView),
	)
}

// protoactorView adapts protoactor's instruments to Prometheus names. Their
// names already end in a unit where they have one, and their counters have
// unit "1", which the exporter would turn into a _ratio suffix, so the view
// clears the unit. It also sets second-scale buckets for the receive time
// histogram.
func protoactorView(inst sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if inst.Scope.Name != protoactorScope {
		return sdkmetric.Stream{}, false
	}

	stream := sdkmetric.Stream{
		Name:        inst.Name,
		Description: inst.Description,
	}
	if inst.Kind == sdkmetric.InstrumentKindHistogram && strings.HasSuffix(inst.Name, "_seconds") {
		stream.Aggregation = sdkmetric.AggregationExplicitBucketHistogram{Boundaries: receiveDurationBuckets}
	}

	return stream, true
}
