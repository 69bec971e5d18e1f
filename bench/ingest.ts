/**
 * Ingestion throughput: 1,000,000 Alice turn events (about 880 bytes a line, about 10 % of turns
 * written twice as `/api/chat` does) ingested into SQLite with deduplication, against a bare
 * read + split + JSON.parse loop over the same file in the same run. The ingest runs in a child
 * process so that its own peak RSS can be reported. Targets (issue 2): ingest time at most 2.5×
 * the bare loop, peak RSS under 400 MB.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { DEFAULT_TOOLS_BY_INTENT } from '../src/core/config/telemetry.js';
import { median, type BenchFn } from './types.js';

const INTENTS = ['greeting', 'weather', 'calculation', 'search', 'complex_query', 'time', 'help', 'translation', 'creative', 'other'] as const;
const INTENT_W = [0.15, 0.12, 0.08, 0.1, 0.2, 0.05, 0.08, 0.07, 0.1, 0.05];
const TOOLS = DEFAULT_TOOLS_BY_INTENT;
const PROMPTS: Record<string, string[]> = {
  greeting: ['Hej Alice!', 'God morgon, hur mår du idag?', 'Tjena, läget?'],
  weather: ['Vad blir vädret i {city} imorgon?', 'Kommer det regna i {city} på {day}?', 'Hur varmt är det i {city} just nu?'],
  calculation: ['Vad är {n} gånger {m}?', 'Räkna ut {n} procent av {m}', 'Hur mycket är {n} plus {m} minus 17?'],
  search: ['Sök efter restauranger i {city}', 'Hitta öppettider för biblioteket i {city}', 'Visa nyheter om {topic}'],
  complex_query: ['Kan du förklara hur {topic} fungerar och jämföra det med tidigare lösningar?', 'Varför är {topic} viktigt för {city} de närmaste {n} åren?', 'Sammanfatta för- och nackdelar med {topic}'],
  time: ['Vad är klockan?', 'Vilken dag är det på {day}?', 'Hur många dagar är det kvar till jul?'],
  help: ['Vad kan du hjälpa mig med?', 'Hur använder jag kalendern?', 'Hjälp'],
  translation: ['Översätt "good morning" till tyska', 'Vad heter {topic} på engelska?', 'Översätt {city} är vackert till franska'],
  creative: ['Skriv en dikt om {city} på {day}', 'Hitta på en saga om {topic}', 'Skriv ett kort tal om {topic}'],
  other: ['asdf', 'Berätta något roligt', 'Vem vann matchen igår?'],
};
const CITIES = ['Göteborg', 'Stockholm', 'Malmö', 'Umeå', 'Luleå', 'Uppsala', 'Västerås', 'Örebro', 'Linköping', 'Jönköping'];
const DAYS = ['måndag', 'tisdag', 'onsdag', 'torsdag', 'fredag', 'lördag', 'söndag'];
const TOPICS = ['kvantdatorer', 'solceller', 'elbilar', 'maskininlärning', 'fotosyntes', 'inflation', 'vätgas', 'blockkedjor'];
const SENTENCES = [
  'Här är vad jag hittade åt dig.',
  'Enligt de senaste uppgifterna ser det ut så här.',
  'Jag har sammanställt informationen nedan i punktform.',
  'Observera att uppgifterna kan ändras under dagen.',
  'Säg till om du vill att jag går in mer på detaljerna.',
  'Det finns flera faktorer att ta hänsyn till i det här fallet.',
  'Sammanfattningsvis är det rimligt att utgå från det första alternativet.',
  'Jag kan också ställa in en påminnelse om du vill.',
];
const GUARDIAN = ['NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'NORMAL', 'BROWNOUT', 'DEGRADED'];

function hex(rng: Rng, n: number): string {
  let s = '';
  while (s.length < n) s += rng.nextU32().toString(16).padStart(8, '0');
  return s.slice(0, n);
}

function fill(rng: Rng, tpl: string): string {
  return tpl
    .replace('{city}', CITIES[rng.int(CITIES.length)]!)
    .replace('{day}', DAYS[rng.int(DAYS.length)]!)
    .replace('{topic}', TOPICS[rng.int(TOPICS.length)]!)
    .replace('{n}', String(rng.int(1000)))
    .replace('{m}', String(rng.int(1000)));
}

/**
 * Write `n` lines of Alice turn events (deterministic for a seed). About `dupShare` of turns get
 * Alice's second `/api/chat` line (same trace_id, empty tool_calls) right after the first.
 * Returns the number of lines and bytes written.
 */
export function writeAliceTelemetry(path: string, n: number, seed = 1, dupShare = 0.1): { lines: number; bytes: number; turns: number } {
  const rng = new Rng(seed);
  const fd = openSync(path, 'w');
  let chunk: string[] = [];
  let bytes = 0;
  let lines = 0;
  let turns = 0;
  let session = 0;
  let sessionLeft = 0;
  let ts = Date.UTC(2025, 8, 1, 6, 0, 0);
  const flush = (): void => {
    const b = Buffer.from(chunk.join(''));
    writeSync(fd, b);
    bytes += b.length;
    chunk = [];
  };
  try {
    while (lines < n) {
      if (sessionLeft <= 0) {
        session++;
        sessionLeft = 1 + rng.int(8);
      }
      sessionLeft--;
      ts += 50 + rng.int(400);
      const intent = INTENTS[rng.categorical(INTENT_W)]!;
      const prompts = PROMPTS[intent]!;
      const input = fill(rng, prompts[rng.int(prompts.length)]!);
      const r = rng.next();
      const route = r < 0.012 ? 'fallback' : r < 0.018 ? 'error' : intent === 'complex_query' || intent === 'creative' ? 'deep' : TOOLS[intent] !== undefined && rng.next() < 0.8 ? 'planner' : 'micro';
      const tools = TOOLS[intent];
      const calls =
        route === 'planner' && tools !== undefined
          ? [{ name: rng.next() < 0.75 ? tools[0]! : tools[rng.int(tools.length)]!, normalized_name: 'other', ok: rng.next() < 0.9, klass: null, lat_ms: Math.round(rng.next() * 3000) / 10 }]
          : [];
      let out = '';
      const target = 40 + rng.int(180);
      while (out.length < target) out += `${SENTENCES[rng.int(SENTENCES.length)]} `;
      const latency = Math.round(route === 'micro' ? 150 + rng.next() * 400 : route === 'planner' ? 450 + rng.next() * 1500 : 800 + rng.next() * 4000);
      const ev = {
        v: '1',
        ts: new Date(ts).toISOString().replace('Z', `${String(rng.int(1000)).padStart(3, '0')}Z`),
        trace_id: `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-a${hex(rng, 3)}-${hex(rng, 12)}`,
        session_id: `sess-${session}`,
        route,
        e2e_first_ms: Math.round(latency * 0.7),
        e2e_full_ms: latency,
        ram_peak_mb: { proc_mb: Math.round(1800 + rng.next() * 600) / 10, sys_mb: Math.round(110000 + rng.next() * 10000) / 10 },
        tool_calls: calls,
        rag: {
          top_k: route === 'deep' ? 4 : 0,
          hits: route === 'deep' ? rng.int(5) : 0,
          llm_model: route === 'deep' ? 'gpt-oss:20b' : 'qwen2.5:3b-instruct-q4_K_M',
          planner_schema_ok: rng.next() < 0.95,
          repair_used: false,
          circuit_open: false,
          fallback_used: route === 'fallback',
          fallback_reason: route === 'fallback' ? 'timeout' : null,
          blocked_by_guardian: rng.next() < 0.01,
          tokens_used: 40 + rng.int(400),
        },
        energy_wh: Math.round(rng.next() * 100) / 10000,
        guardian_state: GUARDIAN[rng.int(GUARDIAN.length)]!,
        pii_masked: true,
        consent_scopes: ['basic_logging'],
        input_text: input,
        output_text: out.trim(),
        lang: rng.next() < 0.85 ? 'sv' : 'en',
        security: { system_prompt_sha256: hex(rng, 8) },
      };
      chunk.push(`${JSON.stringify(ev)}\n`);
      lines++;
      turns++;
      if (lines < n && rng.next() < dupShare) {
        chunk.push(`${JSON.stringify({ ...ev, tool_calls: [] })}\n`);
        lines++;
      }
      if (chunk.length >= 2000) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { lines, bytes, turns };
}

/** The baseline: read the file in 1 MiB chunks, split on newlines, JSON.parse every line. */
export function bareLoop(path: string): { lines: number; checksum: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let carry = '';
  let lines = 0;
  let checksum = 0;
  let pos = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      const parts = (carry + buf.toString('utf8', 0, n)).split('\n');
      carry = parts.pop() ?? '';
      for (const p of parts) {
        if (p === '') continue;
        const o = JSON.parse(p) as { e2e_full_ms?: number };
        checksum += o.e2e_full_ms ?? 0;
        lines++;
      }
    }
    if (carry !== '') {
      JSON.parse(carry);
      lines++;
    }
  } finally {
    closeSync(fd);
  }
  return { lines, checksum };
}

interface ChildResult {
  ms: number;
  /** CPU time of the whole child process (both threads, start-up included). */
  cpuMs: number;
  maxRssMb: number;
  counts: { linesRead: number; eventsStored: number; duplicates: number; quarantined: { total: number } };
}

/** Ingest `file` into a fresh SQLite store in a child process, the way `umbra ingest` does; its time and peak RSS. */
function ingestInChild(file: string, dataDir: string): ChildResult {
  const here = dirname(fileURLToPath(import.meta.url));
  const ingestJs = pathToFileURL(join(here, '..', 'src', 'ingest', 'ingest.js')).href;
  const storeJs = pathToFileURL(join(here, '..', 'src', 'store', 'index.js')).href;
  const script = `
    const { ingest } = await import(${JSON.stringify(ingestJs)});
    const { WorkerStore, storePath } = await import(${JSON.stringify(storeJs)});
    const store = new WorkerStore(storePath(${JSON.stringify(dataDir)}), { busyTimeoutMs: 5000, cacheMb: 64 });
    const t0 = performance.now();
    const counts = await ingest({ store, path: ${JSON.stringify(file)} });
    const ms = performance.now() - t0;
    await store.close();
    const ru = process.resourceUsage();
    process.stdout.write(JSON.stringify({ ms, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000, maxRssMb: ru.maxRSS / 1024, counts }));
  `;
  // A script file, not `-e`: the store's worker thread inherits the flags, and `--input-type` stops it.
  const scriptFile = join(dataDir, '..', `ingest-child-${process.pid}.mjs`);
  writeFileSync(scriptFile, script);
  const r = spawnSync(process.execPath, [scriptFile], { encoding: 'utf8', maxBuffer: 1 << 24 });
  rmSync(scriptFile, { force: true });
  if (r.status !== 0) throw new Error(`ingest child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

export const run: BenchFn = async ({ quick }) => {
  const n = quick ? 20_000 : 1_000_000;
  const reps = 3;
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-ingest-'));
  try {
    const file = join(dir, 'events.jsonl');
    const gen = writeAliceTelemetry(file, n, 20250904);
    const size = statSync(file).size;
    const bare: number[] = [];
    const ingestMs: number[] = [];
    const rss: number[] = [];
    const cpu: number[] = [];
    let last: ChildResult | undefined;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const b = bareLoop(file);
      bare.push(performance.now() - t0);
      if (b.lines !== gen.lines) throw new Error(`bare loop read ${b.lines} lines, expected ${gen.lines}`);
      const dd = join(dir, `data${i}`);
      last = ingestInChild(file, dd);
      if (last.counts.linesRead !== gen.lines || last.counts.eventsStored + last.counts.duplicates < gen.turns) {
        throw new Error(`ingest counts look wrong: ${JSON.stringify(last.counts)}`);
      }
      ingestMs.push(last.ms);
      rss.push(last.maxRssMb);
      cpu.push(last.cpuMs);
      rmSync(dd, { recursive: true, force: true });
    }
    const bareMed = median(bare);
    const ingMed = median(ingestMs);
    return {
      name: 'ingest',
      description: `${n.toLocaleString('en-US')} Alice turn lines (${Math.round(size / gen.lines)} bytes/line, ${gen.lines - gen.turns} duplicate lines) into SQLite with dedup, vs a bare read+split+JSON.parse loop`,
      metrics: [
        { name: 'bare_loop_lines_per_s', value: gen.lines / (bareMed / 1000), unit: 'lines/s', better: 'higher', samples: bare.map((ms) => gen.lines / (ms / 1000)) },
        { name: 'ingest_lines_per_s', value: gen.lines / (ingMed / 1000), unit: 'lines/s', better: 'higher', samples: ingestMs.map((ms) => gen.lines / (ms / 1000)) },
        { name: 'ingest_cpu_s', value: median(cpu) / 1000, unit: 's', better: 'lower', samples: cpu.map((ms) => ms / 1000) },
        { name: 'ingest_peak_rss_mb', value: median(rss), unit: 'MB', better: 'lower', samples: rss, target: 400 },
      ],
      ratios: [
        { name: 'ingest_time_over_bare_loop', value: ingMed / bareMed, better: 'lower', target: 2.5 },
        { name: 'ingest_cpu_over_bare_loop', value: median(cpu) / bareMed, better: 'lower' },
      ],
      notes: [
        `file ${(size / 1048576).toFixed(1)} MiB, ${gen.lines} lines, ${gen.turns} turns; ${reps} runs each, medians`,
        'ingest as `umbra ingest` runs it: parsing and mapping on the main thread, SQLite writes in the store thread (so CPU time exceeds wall time)',
        `last run: ${JSON.stringify(last?.counts)}`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
