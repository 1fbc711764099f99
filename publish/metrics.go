package publish

import "github.com/prometheus/client_golang/prometheus"

var (
	descLag = prometheus.NewDesc("pkid_publish_lag_seconds",
		"Seconds since the oldest CA certificate or CRL change not yet published to the target (0 when current).",
		[]string{"target"}, nil)
	descErrors = prometheus.NewDesc("pkid_publish_errors_total",
		"Failed publication passes to the target since the process started.",
		[]string{"target"}, nil)
	descLastSuccess = prometheus.NewDesc("pkid_publish_last_success_timestamp_seconds",
		"Unix time of the last pass that left every selected CA current on the target (0: never).",
		[]string{"target"}, nil)
)

// Collector returns a Prometheus collector for the publisher's metrics,
// for the server to register: pkid_publish_lag_seconds{target},
// pkid_publish_errors_total{target} and
// pkid_publish_last_success_timestamp_seconds{target}.
func (p *Publisher) Collector() prometheus.Collector { return collector{p} }

type collector struct{ p *Publisher }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLag
	ch <- descErrors
	ch <- descLastSuccess
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.p.Status() {
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, s.Lag.Seconds(), s.Name)
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(s.Errors), s.Name)
		last := 0.0
		if !s.LastSuccess.IsZero() {
			last = float64(s.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, last, s.Name)
	}
}
