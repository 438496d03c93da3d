/** A uPlot time series kept in a preact component: series values pushed by the caller. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartProps {
  title: string;
  /** x: epoch seconds; one array per series, same length as x (null: no value at that tick). */
  data: [number[], ...(number | null)[][]];
  series: { label: string; stroke: string }[];
  /** The time range shown: the last `windowS` seconds up to the newest sample. */
  windowS: number;
  yLabel?: string;
}

const PALETTE = ['#2060c0', '#20a060', '#c06020', '#a020a0', '#008080', '#b03030', '#606000', '#404040'];

/** A stroke colour per series index (the palette repeats). */
export const stroke = (i: number): string => PALETTE[i % PALETTE.length]!;

export function Chart({ title, data, series, windowS, yLabel = 'count' }: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (host.current === null) return;
    const width = Math.max(320, Math.min(640, host.current.clientWidth || 560));
    plot.current = new uPlot(
      {
        title,
        width,
        height: 200,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: false }))],
        scales: {
          x: { time: true, range: (_u, _min, max) => [max - windowS, max] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.2 : 1] },
        },
        axes: [{}, { label: yLabel }],
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
