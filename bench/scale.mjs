/**
 * The scale run: images tasks for pages of tiny distinct images (100,000 image URLs at BENCH_SCALE=1) on the
 * standalone service with its default configuration (only what a loopback fixture site needs is set).
 * Samples the service's RSS every second, so the table can say when the peak came.
 */
import path from 'node:path';
import { spawnFixtureSite } from './fixture-site.mjs';
import { cpuSeconds, peakRss, countFiles } from './lib/proc.mjs';
import { runApiJob, startStandalone } from './runners/service.mjs';
import fs from 'node:fs';

function currentRss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export async function scaleRun({ distDir, outDir, scale, imagesPerPage = 100, timeoutMs = 1_500_000 }) {
  const pages = Math.max(1, Math.round(1000 * scale));
  const site = await spawnFixtureSite({ pages, imagesPerPage, share: 0, imageBytes: 128, pageBytes: 1024 });
  const dir = path.join(outDir, 'scale');
  fs.rmSync(dir, { recursive: true, force: true });
  const svc = await startStandalone({ distDir, dataDir: path.join(dir, 'data'), logDir: outDir, logName: 'scale.log' });
  const pid = svc.procs[0].pid;
  const samples = [];
  const sampler = setInterval(() => samples.push(currentRss(pid)), 1000);
  try {
    const cpu0 = cpuSeconds(pid);
    const r = await runApiJob(svc.url, site.base, site.plan.pagePaths, { kinds: ['images'], timeoutMs });
    return {
      pages,
      imageUrls: site.plan.uniqueImages,
      ...r,
      images: countFiles(path.join(dir, 'data', 'media', 'images')),
      cpuSeconds: cpuSeconds(pid) - cpu0,
      peakRss: peakRss(pid),
      rssSamples: samples,
    };
  } finally {
    clearInterval(sampler);
    await svc.stop();
    site.stop();
  }
}
