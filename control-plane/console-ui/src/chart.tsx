/** A uPlot time series kept in a preact component: series values pushed by the caller. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartProps {
  title: string;
  /** x: epoch seconds; one array per series, same length as x. */
  data: [number[], ...number[][]];
  series: { label: string; stroke: string }[];
  /** The time range shown: the last `windowS` seconds up to the newest sample. */
  windowS: number;
}

export function Chart({ title, data, series, windowS }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (host.current === null) return;
    const width = Math.max(320, Math.min(900, host.current.clientWidth || 640));
    plot.current = new uPlot(
      {
        title,
        width,
        height: 220,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - windowS, max] },
          y: { range: (_u, _min, max) => [0, Math.max(2, Math.ceil(max * 1.2))] },
        },
        axes: [{}, { label: 'count' }],
      },
      data as uPlot.AlignedData,
      host.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [title, windowS, series.map((s) => s.label).join()]);
  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);
  return <div ref={host} class="chart" role="img" aria-label={`${title} (live chart)`} />;
}
