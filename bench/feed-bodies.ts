/*
 * The four large directory feeds of issue 19's isolation bench, shared by bench/feed-isolation.ts
 * (over HTTP, SSO latency) and bench/feed-loop-delay.ts (in-process, event-loop stalls): two valid
 * snapshots of 17,000 people (~18 MiB), one body nested 9 M levels deep (~17 MiB) and one naming
 * 150,000 unknown people in memberships (~16 MiB). All under the 20 MiB feed body limit.
 */
export function largeFeeds(uai: string): Array<{ name: string; body: string }> {
  const filler = 'x'.repeat(480);
  const person = (i: number) => ({ id: `F-${i}`, lastName: filler, firstName: 'Bench', otherFirstNames: [filler], profiles: [{ uai, profile: 'National_elv' }] });
  const people = Array.from({ length: 17_000 }, (_, i) => person(i));
  const valid = JSON.stringify({ people, groups: [], memberships: [] });
  const depth = 9_000_000;
  const nested = `{"people":[],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const badRefs = JSON.stringify({
    people: people.slice(0, 3000),
    groups: [{ code: '3A', name: '3A', kind: 'DIVISION' }],
    memberships: Array.from({ length: 150_000 }, (_, i) => ({ personId: `nobody-${i}-${filler.slice(0, 40)}`, groupCode: '3A' })),
  });
  return [
    { name: 'valid', body: valid },
    { name: 'nested 9M', body: nested },
    { name: 'valid again', body: valid },
    { name: '150k bad refs', body: badRefs },
  ];
}
