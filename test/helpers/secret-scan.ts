/**
 * Secrets never reach logs, manifests or workflow history (issue 12, part 7). The
 * test process registers every secret it hands out (the MinIO secret key, API
 * tokens); everything the suite writes to stdout/stderr — its own logs, in-process
 * workers' and the output of the processes it pipes through — is scanned as it is
 * written, and `scanServer` reads back every workflow history (all events, payloads
 * decoded) and every run manifest a test server holds before it stops.
 */
import type { Client } from '@temporalio/client';
import type { ArtifactStore } from '../../storage/artifact-store.js';

/** What has been scanned so far, and what was found. */
export interface ScanTotals {
  workflows: number;
  events: number;
  manifests: number;
  /** Chunks of output written by the test process (its own logs and piped children). */
  outputChunks: number;
  outputBytes: number;
  /** Where a secret was found (never the secret itself). */
  hits: string[];
}

const secrets = new Set<string>();
export const totals: ScanTotals = { workflows: 0, events: 0, manifests: 0, outputChunks: 0, outputBytes: 0, hits: [] };
const decoder = new TextDecoder();

/** Registers a secret to look for (values shorter than 8 characters are ignored: they would match by chance). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

/** Records a hit when `text` contains a registered secret; `where` names the place. */
export function scanText(text: string, where: string): void {
  for (const s of secrets) if (text.includes(s)) totals.hits.push(`${where} (a secret of ${s.length} characters)`);
}

let watching = false;

/** Scans everything the test process writes to stdout and stderr from now on (once per process). */
export function watchOutput(): void {
  if (watching) return;
  watching = true;
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? decoder.decode(chunk) : String(chunk);
      totals.outputChunks++;
      totals.outputBytes += text.length;
      scanText(text, `test ${name}`);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Scans every string in `value` (a history event, a payload…), decoding byte arrays (Temporal payloads' data) as UTF-8. */
export function scanValue(value: unknown, where: string): void {
  if (typeof value === 'string') scanText(value, where);
  else if (value instanceof Uint8Array) scanText(decoder.decode(value), where);
  else if (Array.isArray(value)) value.forEach((v) => scanValue(v, where));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => scanValue(v, where));
}

/** Scans every workflow history on the server (every event, payloads and failures included) and every run manifest in `store`. */
export async function scanServer(client: Client, store: ArtifactStore): Promise<void> {
  for await (const w of client.workflow.list()) {
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    totals.workflows++;
    for (const event of history.events ?? []) {
      totals.events++;
      scanValue(event, `history of ${w.workflowId}, event ${String(event.eventId)}`);
    }
  }
  for await (const o of store.list('runs/')) {
    if (!o.uri.endsWith('/manifest.json')) continue;
    const key = o.uri.slice(store.root.length);
    const bytes = await store.getNamed(key);
    if (!bytes) continue;
    totals.manifests++;
    scanText(decoder.decode(bytes), `manifest ${key}`);
  }
}

/** One line summing up the scans so far. */
export function scanSummary(): string {
  const t = totals;
  return `secret scan: ${t.workflows} workflow histories (${t.events} events), ${t.manifests} manifests, ${t.outputChunks} output writes (${t.outputBytes} characters); ${t.hits.length} secrets found`;
}
