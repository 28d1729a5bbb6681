/**
 * A stacked bar chart of counts per day (Chart.js on a canvas, bundled by
 * esbuild), readable at any width: it fills its box and thins the day labels.
 * Its tooltip is HTML, not canvas paint, and follows the pointer, a tap, or
 * the keyboard: the chart is focusable, ←/→ (Home/End) move between days,
 * Escape hides it, and the day's numbers are announced. The figure's data is
 * also a table (the caller's) for reading without the chart.
 */
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip, type TooltipModel } from 'chart.js';
import { h } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface Layer {
  id: string;
  label: string;
  perDay: readonly number[];
  color: string;
}

interface Tip {
  index: number;
  x: number;
  y: number;
}

/** The lines of a day's tooltip: the day, then each layer with a count, then the total when stacked. */
export function tipLines(days: readonly string[], layers: readonly Layer[], index: number): string[] {
  const rows = layers.filter((l) => (l.perDay[index] ?? 0) > 0).map((l) => `${l.label}: ${l.perDay[index]}`);
  const total = layers.reduce((sum, l) => sum + (l.perDay[index] ?? 0), 0);
  return [days[index] ?? '', ...(rows.length === 0 ? ['none'] : rows), ...(rows.length > 1 ? [`Total: ${total}`] : [])];
}

export function BarChart({ id, title, days, layers }: { id: string; title: string; days: readonly string[]; layers: readonly Layer[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'bar'> | null>(null);
  const [tip, setTip] = useState<Tip | null>(null);
  const [spoken, setSpoken] = useState('');
  const total = layers.reduce((sum, l) => sum + l.perDay.reduce((a, b) => a + b, 0), 0);

  useLayoutEffect(() => {
    const external = ({ tooltip }: { tooltip: TooltipModel<'bar'> }) => {
      const point = tooltip.dataPoints?.[0];
      setTip(tooltip.opacity === 0 || !point ? null : { index: point.dataIndex, x: tooltip.caretX, y: tooltip.caretY });
    };
    chart.current = new Chart(canvas.current!, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        // No 'mouseout': after a tap the browser sends one, which would hide the tapped day's tooltip at once;
        // a mouse leaving is handled below (onPointerLeave).
        events: ['mousemove', 'touchstart', 'touchmove'],
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0, color: '#57606a' } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0, color: '#57606a' }, grid: { color: '#e6e9ed' } },
        },
        plugins: { tooltip: { enabled: false, external } },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  // Callers build the arrays on every render: redraw only when the numbers change.
  const signature = JSON.stringify([days, layers]);
  useEffect(() => {
    const c = chart.current!;
    c.data.labels = days.map((d) => d.slice(5));
    c.data.datasets = layers.map((l) => ({ label: l.label, data: [...l.perDay], backgroundColor: l.color, borderWidth: 0, maxBarThickness: 48 }));
    c.update();
    setTip(null);
  }, [signature]);

  /** Shows the tooltip of a day as if it were pointed at (keyboard). */
  const show = (index: number) => {
    const c = chart.current!;
    const active = layers.map((_, datasetIndex) => ({ datasetIndex, index }));
    const bar = c.getDatasetMeta(0).data[index];
    c.tooltip?.setActiveElements(active, { x: bar?.x ?? 0, y: bar?.y ?? 0 });
    c.setActiveElements(active);
    c.update();
    setSpoken(tipLines(days, layers, index).join(', '));
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const last = days.length - 1;
    const current = tip?.index ?? -1;
    const next = { ArrowRight: Math.min(last, current + 1), ArrowLeft: Math.max(0, current < 0 ? last : current - 1), Home: 0, End: last }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      show(next);
    } else if (event.key === 'Escape' && tip) {
      event.stopPropagation();
      hide();
    }
  };
  // A tap shows the day tapped, and it stays until another tap, a key or leaving the chart.
  const onPointerUp = (event: PointerEvent) => {
    if (event.pointerType === 'mouse') return;
    const hit = chart.current?.getElementsAtEventForMode(event, 'index', { intersect: false }, false)[0];
    if (hit) show(hit.index);
  };
  const hide = () => {
    const c = chart.current;
    c?.tooltip?.setActiveElements([], { x: 0, y: 0 });
    c?.setActiveElements([]);
    c?.update();
    setTip(null);
  };

  const tipId = `${id}-tip`;
  return h(
    'div',
    { class: 'bar-chart', 'data-testid': id },
    h(
      'canvas',
      {
        ref: canvas,
        role: 'img',
        tabIndex: 0,
        'aria-label': `${title}: ${total} in ${days.length} days, ${days[0]} to ${days[days.length - 1]}. Use the left and right arrow keys to read each day.`,
        'aria-describedby': tip ? tipId : undefined,
        onKeyDown,
        onPointerUp,
        onPointerLeave: (event: PointerEvent) => event.pointerType === 'mouse' && document.activeElement !== canvas.current && hide(),
        onFocus: () => tip ?? show(days.length - 1),
        onBlur: hide,
      },
      `${title}: the numbers are in the table below.`,
    ),
    tip
      ? h(
          'div',
          { id: tipId, role: 'tooltip', class: `chart-tip${tip.x > (canvas.current?.clientWidth ?? 0) / 2 ? ' left' : ''}`, style: { left: `${tip.x}px`, top: `${tip.y}px` } },
          tipLines(days, layers, tip.index).map((line, i) => h(i === 0 ? 'strong' : 'span', { key: i }, line)),
        )
      : null,
    h('p', { class: 'visually-hidden', 'aria-live': 'polite' }, spoken),
  );
}
