#!/usr/bin/env node
// Draws the bench figures as a PNG with no dependency: a tiny 5x7 bitmap font, filled rectangles, zlib for the
// IDAT stream and a hand-written CRC-32 (zlib.crc32 needs Node 22).
//
//   node scripts/bench-chart.mjs <bench.json> <out.png>
//
// Panels: tunnel-only throughput (MB/s median), tunnel CPU-s/GiB (donor + joiner stacked), and rsync/SST wall
// time as × the untunnelled reference (paired medians).
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/bench-chart.mjs <bench.json> <out.png>');
  process.exit(2);
}
const data = JSON.parse(readFileSync(input, 'utf8'));

// 5x7 font, rows top to bottom, 5 bits each (MSB left).
const FONT = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  '-': [0, 0, 0, 31, 0, 0, 0],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ',': [0, 0, 0, 0, 12, 4, 8],
  '/': [1, 2, 2, 4, 8, 8, 16],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  '+': [0, 4, 4, 31, 4, 4, 0],
  ':': [0, 12, 12, 0, 12, 12, 0],
  '=': [0, 0, 31, 0, 31, 0, 0],
  '%': [24, 25, 2, 4, 8, 19, 3],
  '×': [0, 17, 10, 4, 10, 17, 0],
  _: [0, 0, 0, 0, 0, 0, 31],
  '[': [14, 8, 8, 8, 8, 8, 14],
  ']': [14, 2, 2, 2, 2, 2, 14],
  '>': [8, 4, 2, 1, 2, 4, 8],
  '<': [2, 4, 8, 16, 8, 4, 2],
  '≤': [2, 4, 8, 4, 2, 0, 15],
  '≥': [8, 4, 2, 4, 8, 0, 30],
  0: [14, 17, 19, 21, 25, 17, 14],
  1: [4, 12, 4, 4, 4, 4, 14],
  2: [14, 17, 1, 2, 4, 8, 31],
  3: [31, 2, 4, 2, 1, 17, 14],
  4: [2, 6, 10, 18, 31, 2, 2],
  5: [31, 16, 30, 1, 1, 17, 14],
  6: [6, 8, 16, 30, 17, 17, 14],
  7: [31, 1, 2, 4, 8, 8, 8],
  8: [14, 17, 17, 14, 17, 17, 14],
  9: [14, 17, 17, 15, 1, 2, 12],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [28, 18, 17, 17, 17, 18, 28],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
};

const W = 1100;
const H = 760;
const px = new Uint8Array(W * H * 3).fill(255);
function rect(x, y, w, h, [r, g, b]) {
  for (let j = Math.max(0, Math.round(y)); j < Math.min(H, Math.round(y + h)); j++)
    for (let i = Math.max(0, Math.round(x)); i < Math.min(W, Math.round(x + w)); i++) {
      const o = (j * W + i) * 3;
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = b;
    }
}
function text(x, y, s, color = [30, 30, 30], scale = 2) {
  for (const ch of String(s)) {
    const glyph = FONT[ch] ?? FONT[ch.toUpperCase()] ?? FONT[' '];
    glyph.forEach((row, j) => {
      for (let i = 0; i < 5; i++)
        if (row & (16 >> i)) rect(x + i * scale, y + j * scale, scale, scale, color);
    });
    x += 6 * scale;
  }
}

const OURS = [214, 96, 20];
const OTHER = [70, 110, 170];
const LIGHT = [150, 180, 220];
const OURS_LIGHT = [240, 170, 120];
const GREY = [200, 200, 200];
const summary = data.summary.filter((r) => Number.isFinite(r.mbPerS?.median) || r.failures < r.runs);
const label = (r) => r.name.replace('plain TCP relay (socat -b 131072, no TLS)', 'plain relay, no TLS');

function barPanel(x0, y0, title, rows, value, fmt, max, stack) {
  text(x0, y0, title, [0, 0, 0], 2);
  const labelW = 300;
  const barW = 185; // bar, gap and a 4-digit value stay left of the next panel
  rows.forEach((r, k) => {
    const y = y0 + 26 + k * 22;
    const ours = r.variant.startsWith('ours') || r.variant === 'rsync_tunnel';
    text(x0, y + 3, label(r).slice(0, 24), [40, 40, 40], 2);
    const v = value(r);
    if (!Number.isFinite(v)) return text(x0 + labelW, y + 3, 'n/a', [120, 120, 120]);
    if (stack) {
      const [a, b] = stack(r);
      rect(x0 + labelW, y, (a / max) * barW, 16, ours ? OURS : OTHER);
      rect(x0 + labelW + (a / max) * barW, y, (b / max) * barW, 16, ours ? OURS_LIGHT : LIGHT);
    } else rect(x0 + labelW, y, (Math.min(v, max) / max) * barW, 16, ours ? OURS : OTHER);
    text(x0 + labelW + (Math.min(v, max) / max) * barW + 6, y + 3, fmt(v), [40, 40, 40]);
  });
}

const tunnel = summary.filter((r) => r.suite === 'tunnel');
const maxMbs = Math.max(...tunnel.map((r) => r.mbPerS.median).filter(Number.isFinite), 1);
text(
  20,
  14,
  `sst-tunnel bench ${data.started.slice(0, 10)}: ${data.cores} x ${data.cpu}`.slice(0, 88),
  [0, 0, 0],
  2,
);
text(
  20,
  36,
  `tunnel only: ${data.plan.gib} GiB per run, ${data.plan.rounds} interleaved rounds, medians`,
  [60, 60, 60],
  2,
);
barPanel(
  20,
  70,
  'THROUGHPUT MB/S',
  tunnel,
  (r) => r.mbPerS.median,
  (v) => v.toFixed(0),
  maxMbs * 1.05,
);
const withCpu = tunnel.filter((r) => r.tunnelCpuPerGiB > 0);
const maxCpu = Math.max(...withCpu.map((r) => r.tunnelCpuPerGiB).filter(Number.isFinite), 1);
barPanel(
  560,
  70,
  'TUNNEL CPU-S/GIB (DONOR+JOINER)',
  withCpu,
  (r) => r.tunnelCpuPerGiB,
  (v) => v.toFixed(2),
  maxCpu * 1.2,
  (r) => [r.donorCpuPerGiB, r.joinerCpuPerGiB],
);
const ratioRows = summary
  .filter((r) => (r.suite === 'rsync' || r.suite === 'sst') && r.variant !== 'none' && r.variant !== 'rsync')
  .map((r) => ({ ...r, name: `${r.dataset}: ${label(r)}` }));
const ratioMax = Math.max(1.1, ...ratioRows.map((r) => r.speedVsRef).filter(Number.isFinite)) * 1.1;
const y2 = 70 + 40 + Math.max(tunnel.length, withCpu.length) * 22 + 20;
rect(20, y2 - 14, W - 40, 2, GREY);
barPanel(
  20,
  y2,
  'RSYNC AND SST SPEED, X NO TUNNEL (PAIRED; 1.0 = UNTUNNELLED)',
  ratioRows,
  (r) => r.speedVsRef,
  (v) => v.toFixed(2),
  ratioMax,
);
const refX = 20 + 300 + (1 / ratioMax) * 200;
rect(refX, y2 + 22, 1, ratioRows.length * 22 + 4, [0, 0, 0]);
text(700, y2 + 30, 'orange: sst-tunnel', OURS, 2);
text(700, y2 + 52, 'blue: socat, stunnel, plain', OTHER, 2);
text(700, y2 + 74, 'light: joiner share of CPU', LIGHT, 2);
text(700, y2 + 96, 'line: untunnelled rsync (1.0)', [0, 0, 0], 2);
const usedH = Math.min(H, y2 + 30 + ratioRows.length * 22 + 20);

// PNG: signature, IHDR, IDAT (filter byte 0 per row), IEND.
const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
const crc32 = (buf) => {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
};
function chunk(type, body) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(tb));
  return Buffer.concat([len, tb, crc]);
}
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(W, 0);
ihdr.writeUInt32BE(usedH, 4);
ihdr[8] = 8;
ihdr[9] = 2; // RGB
const raw = Buffer.alloc((W * 3 + 1) * usedH);
for (let j = 0; j < usedH; j++) Buffer.from(px.buffer, j * W * 3, W * 3).copy(raw, j * (W * 3 + 1) + 1);
writeFileSync(
  output,
  Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]),
);
console.log(`wrote ${output} (${W}x${usedH})`);
