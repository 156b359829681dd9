/*
 * The load side of bench/doors.ts, in its own process so that the server's CPU time is its own.
 * Reads a JSON job on stdin, runs it with N concurrent workers, prints {ok, failed, seconds}.
 *   cas:  [{url}] → GET each, ok when the body has cas:authenticationSuccess
 *   oidc: [{tokenUrl, body, authorization, userinfoUrl}] → POST token, then GET userinfo with the access token
 */
import { text } from 'node:stream/consumers';

const job = JSON.parse(await text(process.stdin)) as { kind: 'cas' | 'oidc'; concurrency: number; items: any[] };
let next = 0;
let ok = 0;
let failed = 0;
const t0 = performance.now();
async function one(item: any): Promise<boolean> {
  if (job.kind === 'cas') {
    const body = await (await fetch(item.url)).text();
    return body.includes('cas:authenticationSuccess');
  }
  const tr = await fetch(item.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: item.authorization },
    body: item.body,
  });
  if (tr.status !== 200) return false;
  const { access_token } = (await tr.json()) as { access_token: string };
  const ui = await fetch(item.userinfoUrl, { headers: { authorization: `Bearer ${access_token}` } });
  return ui.status === 200 && typeof ((await ui.json()) as { sub?: string }).sub === 'string';
}
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (next < job.items.length) {
      const item = job.items[next++];
      if (await one(item).catch(() => false)) ok++;
      else failed++;
    }
  }),
);
process.stdout.write(JSON.stringify({ ok, failed, seconds: (performance.now() - t0) / 1000 }));
