import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@edgetwin/device-twin';

describe('Prometheus metrics registry', () => {
  it('renders counters, gauges and histograms in the text exposition format', () => {
    const reg = new MetricsRegistry();
    const c = reg.counter('edgetwin_test_total', 'Things counted.');
    c.inc({ kind: 'a' });
    c.inc({ kind: 'a' }, 2);
    c.inc({ kind: 'b"q' });
    let depth = 7;
    reg.gauge('edgetwin_test_depth', 'A queue.', () => depth);
    const h = reg.histogram('edgetwin_test_seconds', 'Durations.', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    h.observe(3);
    depth = 9;
    expect(reg.render()).toBe(
      [
        '# HELP edgetwin_test_total Things counted.',
        '# TYPE edgetwin_test_total counter',
        'edgetwin_test_total{kind="a"} 3',
        'edgetwin_test_total{kind="b\\"q"} 1',
        '# HELP edgetwin_test_depth A queue.',
        '# TYPE edgetwin_test_depth gauge',
        'edgetwin_test_depth 9',
        '# HELP edgetwin_test_seconds Durations.',
        '# TYPE edgetwin_test_seconds histogram',
        'edgetwin_test_seconds_bucket{le="0.01"} 1',
        'edgetwin_test_seconds_bucket{le="0.1"} 2',
        'edgetwin_test_seconds_bucket{le="+Inf"} 3',
        'edgetwin_test_seconds_sum 3.055',
        'edgetwin_test_seconds_count 3',
        '',
      ].join('\n'),
    );
  });

  it('shares a metric asked for twice and refuses the same name with another type', () => {
    const reg = new MetricsRegistry();
    expect(reg.counter('x_total', 'x')).toBe(reg.counter('x_total', 'x'));
    expect(() => reg.gauge('x_total', 'x')).toThrow(/another type/);
    expect(() => reg.counter('bad name', 'x')).toThrow(/not a valid Prometheus name/);
  });
});
