/**
 * The in-run baseline of the end-to-end command benchmarks: read files line by line with a
 * streaming reader and JSON.parse every line, keeping nothing — what any program must at least do
 * to look at the same bytes. Run as its own process (`node bare-parse.js FILE [FILE…]`); prints the
 * number of lines parsed.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

async function main(): Promise<void> {
  let lines = 0;
  let sink = 0;
  for (const file of process.argv.slice(2)) {
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of rl) {
      if (line.length === 0) continue;
      const v = JSON.parse(line) as { id?: unknown };
      if (v.id !== undefined) sink++;
      lines++;
    }
  }
  process.stdout.write(`${JSON.stringify({ lines, sink })}\n`);
}

void main();
