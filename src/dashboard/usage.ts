/** Usage tab: requests per day per key (stacked bar chart, inline SVG) and failed authentications. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { OTHER_KEYS, stackBars, summarizeUsage, type UsageSummary } from './chart.ts';
import type { Ctx } from './context.ts';
import { lastDays } from './format.ts';
import { LoadError, Loading, useAsync } from './ui.ts';

const W = 760;
const H = 260;
const PLOT = { x: 48, y: 12, width: W - 60, height: H - 48 };

function BarChart({ id, title, days, layers, label }: { id: string; title: string; days: string[]; layers: { keyId: string; perDay: number[]; color: string }[]; label: (keyId: string) => string }) {
  const { bars, scale, slot } = stackBars(days, layers, PLOT);
  const every = Math.max(1, Math.ceil(days.length / 8));
  const total = layers.reduce((sum, l) => sum + l.perDay.reduce((a, b) => a + b, 0), 0);
  return h(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, 'data-testid': id },
    h('title', { id: `${id}-title` }, title),
    h('desc', { id: `${id}-desc` }, `${total} in ${days.length} days, ${days[0]} to ${days[days.length - 1]}. The table below lists the numbers.`),
    scale.ticks.map((t) => {
      const y = PLOT.y + PLOT.height - (t / scale.max) * PLOT.height;
      return h(
        'g',
        { key: `t${t}`, class: 'tick' },
        h('line', { x1: PLOT.x, x2: PLOT.x + PLOT.width, y1: y, y2: y, class: 'grid' }),
        h('text', { x: PLOT.x - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-label' }, String(t)),
      );
    }),
    days.map((day, i) =>
      i % every === 0 || i === days.length - 1
        ? h('text', { key: day, x: PLOT.x + i * slot + slot / 2, y: H - 14, 'text-anchor': 'middle', class: 'axis-label' }, day.slice(5))
        : null,
    ),
    bars.map((bar) =>
      h('rect', { key: `${bar.day}-${bar.keyId}`, x: bar.x, y: bar.y, width: bar.width, height: Math.max(bar.height, 0.5), fill: bar.color, class: 'bar' }, h('title', null, `${bar.day} · ${label(bar.keyId)}: ${bar.value}`)),
    ),
    h('line', { x1: PLOT.x, x2: PLOT.x + PLOT.width, y1: PLOT.y + PLOT.height, y2: PLOT.y + PLOT.height, class: 'axis' }),
  );
}

function UsageView({ summary, label }: { summary: UsageSummary; label: (keyId: string) => string }) {
  const failedLayer = [{ keyId: 'failed', perDay: summary.failedPerDay, color: '#b42318' }];
  return h(
    'div',
    { class: 'usage' },
    h(
      'div',
      { class: 'stats' },
      h('div', { class: 'stat' }, h('span', { class: 'stat-value', 'data-testid': 'total-requests' }, String(summary.totalRequests)), h('span', { class: 'stat-label' }, 'requests')),
      h(
        'div',
        { class: `stat ${summary.totalFailed > 0 ? 'stat-bad' : ''}` },
        h('span', { class: 'stat-value', 'data-testid': 'total-failed' }, String(summary.totalFailed)),
        h('span', { class: 'stat-label' }, 'failed authentications'),
      ),
    ),
    h('h2', null, 'Requests per day, by key'),
    summary.totalRequests === 0
      ? h('p', { class: 'muted' }, 'No requests in this period.')
      : h(
          'figure',
          { class: 'chart-figure' },
          h(BarChart, { id: 'requests-chart', title: 'Requests per day, by key', days: summary.days, layers: summary.series, label }),
          h(
            'figcaption',
            null,
            h(
              'ul',
              { class: 'legend' },
              summary.series.map((s) => h('li', { key: s.keyId }, h('span', { class: `swatch swatch-${summary.series.indexOf(s)}`, 'aria-hidden': 'true' }), `${label(s.keyId)}: ${s.total}`)),
            ),
          ),
        ),
    h('h2', null, 'Failed authentication'),
    summary.totalFailed === 0
      ? h('p', { class: 'muted' }, 'No failed authentication in this period.')
      : h(
          'div',
          null,
          h('figure', { class: 'chart-figure' }, h(BarChart, { id: 'failures-chart', title: 'Failed authentications per day', days: summary.days, layers: failedLayer, label: () => 'failed' })),
          h(
            'div',
            { class: 'table-wrap', tabIndex: 0, role: 'region', 'aria-label': 'Failed authentications by key and cause' },
            h(
              'table',
              { class: 'data-table' },
              h('caption', null, 'Failed authentications by key and cause'),
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Cause'), h('th', { scope: 'col', class: 'num' }, 'Count'))),
              h(
                'tbody',
                null,
                summary.failures.map((f) =>
                  h('tr', { key: `${f.keyId}-${f.outcome}` }, h('td', { 'data-label': 'Key' }, label(f.keyId)), h('td', { 'data-label': 'Cause' }, h('code', null, f.outcome)), h('td', { 'data-label': 'Count', class: 'num' }, String(f.count))),
                ),
              ),
            ),
          ),
        ),
    summary.totalRequests > 0
      ? h(
          'details',
          { class: 'data-details' },
          h('summary', null, 'Requests per day as a table'),
          h(
            'div',
            { class: 'table-wrap', tabIndex: 0, role: 'region', 'aria-label': 'Requests per day as a table' },
            h(
              'table',
              { class: 'data-table' },
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Day'), summary.series.map((s) => h('th', { key: s.keyId, scope: 'col', class: 'num' }, label(s.keyId))), h('th', { scope: 'col', class: 'num' }, 'Failed'))),
              h(
                'tbody',
                null,
                summary.days.map((day, i) =>
                  h('tr', { key: day }, h('th', { scope: 'row' }, day), summary.series.map((s) => h('td', { key: s.keyId, class: 'num' }, String(s.perDay[i] ?? 0))), h('td', { class: 'num' }, String(summary.failedPerDay[i] ?? 0))),
                ),
              ),
            ),
          ),
        )
      : null,
  );
}

export function UsageTab({ ctx }: { ctx: Ctx }) {
  const [range, setRange] = useState(14);
  const [keyId, setKeyId] = useState('');
  const days = lastDays(range, Date.now());
  const from = days[0]!;
  const to = days[days.length - 1]!;
  const usage = useAsync(() => ctx.api.getUsage({ from, to, ...(keyId ? { keyId } : {}) }).then((usage) => usage.items), [from, to, keyId]);
  const keys = useAsync<KeyView[]>(() => (ctx.can('api.key.view') ? ctx.api.keysUpTo({ status: 'all' }) : Promise.resolve([])), []);
  const names = new Map((keys.data ?? []).map((k) => [k.id, k.name]));
  const label = (id: string) => (id === OTHER_KEYS ? 'Other keys' : names.has(id) ? `${names.get(id)} (${id.slice(0, 10)}…)` : id);

  return h(
    'section',
    { 'aria-labelledby': 'tab-title' },
    h('div', { class: 'page-head' }, h('h1', { id: 'tab-title', tabIndex: -1 }, 'Usage')),
    h('p', { class: 'summary' }, 'Which keys are used, and failed authentication attempts to look into. Days are UTC.'),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'usage-range' }, 'Period'),
        h(
          'select',
          { id: 'usage-range', value: String(range), onChange: (e: Event) => setRange(Number((e.target as HTMLSelectElement).value)) },
          [7, 14, 30, 90].map((d) => h('option', { key: d, value: String(d) }, `Last ${d} days`)),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'usage-key' }, 'Key'),
        h(
          'select',
          { id: 'usage-key', value: keyId, onChange: (e: Event) => setKeyId((e.target as HTMLSelectElement).value) },
          h('option', { value: '' }, 'All keys'),
          (keys.data ?? []).map((k) => h('option', { key: k.id, value: k.id }, `${k.name} (${k.status})`)),
        ),
      ),
      h('button', { type: 'button', class: 'button', onClick: usage.reload }, 'Refresh'),
    ),
    usage.error ? h(LoadError, { error: usage.error, feature: 'Usage', operation: 'getUsage' }) : null,
    usage.loading && !usage.data ? h(Loading, { what: 'usage' }) : null,
    usage.data ? h(UsageView, { summary: summarizeUsage(usage.data, days), label }) : null,
  );
}
