/** Usage tab: requests per day per key (stacked bar chart) and failed authentications; UsageView is also a key's usage on its page. */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { KeyView } from './api.ts';
import { BarChart } from './bar-chart.ts';
import { OTHER_KEYS, summarizeUsage, type UsageSummary } from './chart.ts';
import type { Ctx } from './context.ts';
import { lastDays } from './format.ts';
import { LoadError, Loading, useAsync } from './ui.ts';

export function UsageView({ summary, label, idPrefix = '' }: { summary: UsageSummary; label: (keyId: string) => string; idPrefix?: string }) {
  const failedLayer = [{ id: 'failed', label: 'Failed', perDay: summary.failedPerDay, color: '#b42318' }];
  const layers = summary.series.map((s) => ({ id: s.keyId, label: label(s.keyId), perDay: s.perDay, color: s.color }));
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
          h(BarChart, { id: `${idPrefix}requests-chart`, title: 'Requests per day, by key', days: summary.days, layers }),
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
          h('figure', { class: 'chart-figure' }, h(BarChart, { id: `${idPrefix}failures-chart`, title: 'Failed authentications per day', days: summary.days, layers: failedLayer })),
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
  const keys = useAsync<KeyView[]>(() => (ctx.mayCall('listKeys') ? ctx.api.keysUpTo({ status: 'all' }) : Promise.resolve([])), []);
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
