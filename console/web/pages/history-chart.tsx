/** A uPlot chart of one numeric property's history (avg per step, min-max as a band): 15 min, 1 h, 24 h. */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, type HistoryPoint, type Property } from '../api.js';
import { ErrorNote } from './error-note.js';

const ZOOMS = [
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '24 h', ms: 86_400_000 },
] as const;

export function HistoryChart(props: { id: string; property: Property }) {
  const box = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number>(ZOOMS[0].ms);
  const [points, setPoints] = useState<HistoryPoint[]>([]);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    const load = async () => {
      const to = Date.now();
      const step = Math.max(10_000, Math.ceil(zoom / 200 / 10_000) * 10_000);
      try {
        const h = await get<{ points: HistoryPoint[] }>(
          `/devices/${props.id}/properties/${encodeURIComponent(props.property.name)}/history?from=${to - zoom}&to=${to}&step=${step}`,
          abort.signal,
        );
        setPoints(h.points);
        setError(undefined);
      } catch (err) {
        if (!abort.signal.aborted) setError(err);
      }
    };
    void load();
    const t = setInterval(() => void load(), 10_000);
    return () => {
      abort.abort();
      clearInterval(t);
    };
  }, [props.id, props.property.name, zoom]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: uPlot.AlignedData = [
      points.map((p) => p.t / 1000),
      points.map((p) => p.avg),
      points.map((p) => p.min),
      points.map((p) => p.max),
    ];
    const width = Math.max(240, el.clientWidth);
    const now = Date.now() / 1000;
    const plot = new uPlot(
      {
        width,
        height: 160,
        legend: { show: false },
        scales: { x: { time: true, range: () => [now - zoom / 1000, now] } },
        series: [
          {},
          { label: 'avg', stroke: '#2563eb', width: 2, points: { show: points.length < 60 } },
          { label: 'min', stroke: 'rgba(37,99,235,0.3)' },
          { label: 'max', stroke: 'rgba(37,99,235,0.3)' },
        ],
        bands: [{ series: [3, 2], fill: 'rgba(37,99,235,0.1)' }],
        axes: [{}, { size: 50, ...(props.property.unit ? { label: props.property.unit } : {}) }],
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [points, zoom, props.property.unit]);

  return (
    <div class="chart" data-testid={`chart-${props.property.name}`} data-points={points.length}>
      <div class="zoom" role="group" aria-label="Zoom">
        {ZOOMS.map((z) => (
          <button type="button" key={z.label} class={z.ms === zoom ? 'on' : ''} onClick={() => setZoom(z.ms)}>
            {z.label}
          </button>
        ))}
        <span class="meta">{points.length} points</span>
      </div>
      <ErrorNote error={error} />
      <div ref={box} />
    </div>
  );
}
