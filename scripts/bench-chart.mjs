#!/usr/bin/env node
// Draws the bench figures as an SVG with Vega-Lite (compiled to Vega, rendered headless: no browser, no canvas,
// no native build).
//
//   node scripts/bench-chart.mjs <bench.json> <out.svg>
//
// <bench.json> is what `sst-tunnel bench --json` writes; only its header (started, cpu, cores, plan) and its
// summary rows are read, so a file holding just those (docs/bench/*.json, the figures of runs whose raw JSON
// was not kept) draws the same chart. Panels: tunnel-only throughput (MB/s, median), tunnel CPU per GiB
// (donor + joiner stacked where the split is known), and rsync and SST speed as × the untunnelled reference
// (paired medians; the line marks 1.0).
import { readFileSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/bench-chart.mjs <bench.json> <out.svg>');
  process.exit(2);
}
const data = JSON.parse(readFileSync(input, 'utf8'));

const isOurs = (r) => r.variant.startsWith('ours') || r.variant.startsWith('rsync_tunnel');
const NO_TLS = new Set(['none', 'plain']);
const who = (r) => (isOurs(r) ? 'sst-tunnel' : NO_TLS.has(r.variant) ? 'no TLS' : 'other TLS tunnels');
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const summary = data.summary.filter((r) => finite(r.mbPerS?.median) || r.failures < r.runs);

const tunnel = summary.filter((r) => r.suite === 'tunnel');
const throughput = tunnel
  .filter((r) => finite(r.mbPerS?.median))
  .map((r) => ({
    label: r.name,
    value: r.mbPerS.median,
    text: `${r.mbPerS.median.toFixed(0)} MB/s`,
    series: who(r),
  }));

// One bar per side where the bench split the CPU, one total bar where only the total is recorded.
const cpu = tunnel
  .filter((r) => finite(r.tunnelCpuPerGiB) && r.tunnelCpuPerGiB > 0)
  .flatMap((r) => {
    const total = {
      label: r.name,
      text: `${r.tunnelCpuPerGiB.toFixed(2)} CPU-s/GiB`,
      end: r.tunnelCpuPerGiB,
    };
    if (!finite(r.donorCpuPerGiB) || !finite(r.joinerCpuPerGiB))
      return [{ ...total, value: r.tunnelCpuPerGiB, series: `${who(r)}, donor + joiner`, order: 0 }];
    return [
      { ...total, value: r.donorCpuPerGiB, series: `${who(r)}, donor`, order: 0 },
      { ...total, value: r.joinerCpuPerGiB, series: `${who(r)}, joiner`, order: 1, text: '' },
    ];
  });

const REFERENCES = new Set(['none', 'rsync']);
const ratios = summary
  .filter(
    (r) => (r.suite === 'rsync' || r.suite === 'sst') && !REFERENCES.has(r.variant) && finite(r.speedVsRef),
  )
  .map((r) => ({
    label: `${r.suite === 'sst' ? 'full SST' : `rsync ${r.dataset}`}: ${r.name}`,
    value: r.speedVsRef,
    text: `${r.speedVsRef.toFixed(2)}×`,
    series: who(r),
  }));

const COLORS = {
  'sst-tunnel': '#d66014',
  'other TLS tunnels': '#466eaa',
  'no TLS': '#8c8c8c',
  'sst-tunnel, donor': '#d66014',
  'sst-tunnel, joiner': '#f0aa78',
  'sst-tunnel, donor + joiner': '#e07e3c',
  'other TLS tunnels, donor': '#466eaa',
  'other TLS tunnels, joiner': '#96b4dc',
  'other TLS tunnels, donor + joiner': '#6e8fc4',
  'no TLS, donor': '#8c8c8c',
  'no TLS, joiner': '#c8c8c8',
  'no TLS, donor + joiner': '#a5a5a5',
};
const used = new Set([...throughput, ...cpu, ...ratios].map((d) => d.series));
const domain = Object.keys(COLORS).filter((k) => used.has(k));
const color = {
  field: 'series',
  type: 'nominal',
  title: null,
  scale: { domain, range: domain.map((k) => COLORS[k]) },
  legend: { orient: 'bottom', columns: 2, labelLimit: 0 },
};
// Full labels: Vega cuts axis labels at 180 px unless told otherwise. One label column width for all panels,
// so their bars start at the same x and can be compared by eye.
const yAxis = { title: null, labelLimit: 0, labelFontSize: 12, minExtent: 290 };
const WIDTH = 420;

/** A horizontal bar panel, the value written at each bar's end. */
function barPanel(title, values, xTitle, { stacked = false, extra = [] } = {}) {
  const y = { field: 'label', type: 'nominal', sort: null, axis: yAxis };
  return {
    title: { text: title, anchor: 'start', frame: 'bounds', fontSize: 14 },
    width: WIDTH,
    height: { step: 24 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.7 } },
        encoding: {
          y,
          x: { field: 'value', type: 'quantitative', title: xTitle, stack: stacked ? 'zero' : null },
          color,
          order: stacked ? { field: 'order' } : undefined,
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 12 },
        transform: [{ filter: "datum.text !== ''" }],
        encoding: {
          y,
          x: { field: stacked ? 'end' : 'value', type: 'quantitative' },
          text: { field: 'text' },
        },
      },
      ...extra,
    ],
  };
}

const panels = [];
if (throughput.length > 0)
  panels.push(
    barPanel(
      `Tunnel only: throughput (median of ${data.plan?.rounds ?? '?'} rounds, higher is better)`,
      throughput,
      'MB/s (10^6 bytes per second)',
    ),
  );
if (cpu.length > 0)
  panels.push(
    barPanel(
      'Tunnel only: tunnel CPU per GiB moved (lower is better)',
      cpu,
      'CPU seconds per GiB (user + sys)',
      {
        stacked: true,
      },
    ),
  );
if (ratios.length > 0)
  panels.push(
    barPanel(
      'rsync and full SST: speed against no tunnel (paired medians, higher is better)',
      ratios,
      '× the untunnelled reference (reference wall ÷ this wall)',
      {
        extra: [
          {
            data: { values: [{ x: 1, note: '1.0 = untunnelled (rsync without TLS)' }] },
            layer: [
              {
                mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
                encoding: { x: { field: 'x', type: 'quantitative' } },
              },
              {
                mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: -14, fontSize: 11 },
                encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'note' } },
              },
            ],
          },
        ],
      },
    ),
  );

const plan = data.plan ?? {};
const subtitle = [
  `${data.cores} × ${data.cpu}`,
  [
    plan.gib !== undefined && `tunnel only: ${plan.gib} GiB per run`,
    plan.rounds !== undefined && `${plan.rounds} interleaved rounds`,
    plan.sstMib !== undefined && `SST: ${plan.sstMib} MiB loaded`,
  ]
    .filter(Boolean)
    .join(', '),
  data.note,
].filter(Boolean);

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: `sst-tunnel bench, ${String(data.started).slice(0, 10)}`,
    subtitle,
    anchor: 'start',
    fontSize: 16,
  },
  background: 'white',
  padding: 12,
  config: { font: 'DejaVu Sans, Verdana, sans-serif', view: { stroke: null }, axis: { labelFontSize: 11 } },
  vconcat: panels,
  resolve: { scale: { color: 'shared' } },
};

const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
const svg = await view.toSVG();
view.finalize();
writeFileSync(output, svg);
console.log(`wrote ${output} (${panels.length} panels)`);
