/**
 * The overview's arithmetic, on expositions written by hand in the format
 * prom-client serves: counters differenced between scrapes (a reset counts
 * from zero), histogram quantiles interpolated inside their bucket, shares
 * per reason, gauges read as they are, evaluation rates per arm of the
 * region only; and the --scrape flag's parser naming its field.
 */
import t from 'tap';
import { parseScrapeTarget } from '../../control-plane/src/console/metrics-scraper.js';
import {
  decisionsIn,
  histogramQuantile,
  indexScrape,
  overviewFigures,
  scrapeDelta,
} from '../../control-plane/src/console/overview-figures.js';
import { parsePrometheusText } from '../../control-plane/src/console/prometheus-text.js';

const exposition = (decisions: number, fast: number, slow: number, degradedRedis: number) => `
# HELP atp_decisions_total Decisions by channel, outcome and mode.
# TYPE atp_decisions_total counter
atp_decisions_total{channel="checkout",decision="allow",mode="enforce"} ${decisions}
# TYPE atp_decision_seconds histogram
atp_decision_seconds_bucket{le="0.001",channel="checkout"} ${fast}
atp_decision_seconds_bucket{le="0.002",channel="checkout"} ${fast + slow}
atp_decision_seconds_bucket{le="+Inf",channel="checkout"} ${fast + slow}
atp_decision_seconds_sum{channel="checkout"} 0.1
atp_decision_seconds_count{channel="checkout"} ${fast + slow}
# TYPE atp_degradations_total counter
atp_degradations_total{degradation="redis"} ${degradedRedis}
# TYPE atp_ingest_consumer_lag_seconds gauge
atp_ingest_consumer_lag_seconds{partition="0"} 0.5
atp_ingest_consumer_lag_seconds{partition="1"} 2.5
# TYPE atp_evaluation_rate gauge
atp_evaluation_rate{region="eu-west",arm="treatment",model_version="m1",rate="oversellRate"} 0.012
atp_evaluation_rate{region="eu-west",arm="treatment",model_version="m1",rate="promiseRate"} 0.93
atp_evaluation_rate{region="us-east",arm="treatment",model_version="m1",rate="promiseRate"} 0.5
# TYPE atp_drift_psi gauge
atp_drift_psi{model_version="m1",feature="atp"} 0.31
`;

t.test('figures over one interval: rate, quantiles, shares, gauges, arms of the region', async (t) => {
  const before = indexScrape(parsePrometheusText(exposition(100, 90, 10, 5)));
  const afterSamples = parsePrometheusText(exposition(300, 190, 110, 55));
  const deltas = scrapeDelta(before, indexScrape(afterSamples));
  const f = overviewFigures('eu-west', deltas, afterSamples, decisionsIn(deltas) / 2);
  t.equal(f.decisions_per_s, 100, '200 decisions in 2 s');
  t.equal(f.decisions_total, 300, 'decisions counted so far');
  // 100 fast (<= 1 ms) then 100 in (1, 2] ms: the median is the 1 ms bound, p99 at 98% of the second bucket.
  t.equal(f.latency_p50_ms, 1);
  t.ok(Math.abs((f.latency_p99_ms ?? 0) - 1.98) < 1e-9, `p99 ${f.latency_p99_ms} ms`);
  t.equal(f['degraded_share:redis'], 0.25, '50 of 200 decisions degraded by redis');
  t.equal(f.ingest_lag_s, 2.5, 'the worst partition');
  t.equal(f['oversell_rate:treatment'], 0.012);
  t.equal(f['promise_rate:treatment'], 0.93, "another region's arm is not this region's");
  t.equal(f['psi:atp'], 0.31);
});

t.test('a restarted target counts from zero, a first scrape gives no rate', async (t) => {
  const before = indexScrape(parsePrometheusText(exposition(1_000, 900, 100, 0)));
  const restarted = parsePrometheusText(exposition(30, 30, 0, 0));
  const deltas = scrapeDelta(before, indexScrape(restarted));
  t.equal(decisionsIn(deltas), 30);
  t.same(scrapeDelta(undefined, indexScrape(restarted)), []);
  t.equal(histogramQuantile(0.99, []), null, 'no observations, no quantile');
});

t.test('--scrape targets: region:kind:url, errors name the field', async (t) => {
  t.same(parseScrapeTarget('eu-west:sidecar:http://10.0.0.5:8090/'), {
    region: 'eu-west',
    kind: 'sidecar',
    url: 'http://10.0.0.5:8090',
  });
  const refused = (raw: string) => {
    try {
      parseScrapeTarget(raw);
      return null;
    } catch (err) {
      return err as { field?: string; message: string };
    }
  };
  t.match(refused('eu-west:db:http://x:1'), { field: 'scrape', message: /kind must be/ });
  t.match(refused('nonsense'), { field: 'scrape', message: /expected region:kind/ });
});
