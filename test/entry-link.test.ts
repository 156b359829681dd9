import t from 'tap';
import { decodeBase64Param, parseEntryLink, safeReturnPath } from '../src/doors/ent-entry/entry-link.js';

/* `/domaineGar` parameters as deployed ENTs write them (gar-interfaces.md §1.1). */

t.test('idENT: padding present, absent, or arriving as %3D (decoded by the query parser)', async (t) => {
  t.equal(decodeBase64Param('QjA='), 'B0');
  t.equal(decodeBase64Param('QjA'), 'B0', 'padding optional');
  t.equal(decodeBase64Param('QzAw'), 'C00');
  t.equal(decodeBase64Param('RU5UVEVTVDE='), 'ENTTEST1');
  t.equal(decodeBase64Param('QjA=='), null, 'too much padding');
  t.equal(decodeBase64Param('Q'), null, 'impossible length');
  t.equal(decodeBase64Param('Qj!='), null);
  t.equal(decodeBase64Param(''), null);
});

t.test('the three resource forms and the optional establishment', async (t) => {
  t.same(parseEntryLink({ idENT: 'QjA=', idEtab: 'MDY5MDAzN1I=', idRessource: 'ark:/58826/BLNEDU-9791035815868' }), {
    entId: 'B0',
    uai: '0690037R',
    resourceId: 'ark:/58826/BLNEDU-9791035815868',
  });
  t.same(parseEntryLink({ idENT: 'SjA', idSrc: 'YXJrOi80ODU2Ni9wdDE4MDAwMQ==' }), { entId: 'J0', uai: null, resourceId: 'ark:/48566/pt180001' });
  t.same(parseEntryLink({ idENT: 'SjA=', idSrc: Buffer.from('http://n2t.net/ark:/99999/abc').toString('base64') })?.resourceId, 'ark:/99999/abc');
  t.same(parseEntryLink({ idENT: 'SjA=', idRessource: 'ark%3A%2F19496%2FUVdpWxn8N78r24' })?.resourceId, 'ark:/19496/UVdpWxn8N78r24', 'encoded twice');
  t.equal(parseEntryLink({ idENT: 'SjA=' }), null, 'no resource');
  t.equal(parseEntryLink({ idRessource: 'ark:/19496/x' }), null, 'no project');
  t.equal(parseEntryLink({ idENT: 'SjA=', idEtab: 'MDY1MDQ5OVAtRVQ2', idRessource: 'ark:/19496/x' }), null, 'not a UAI (0650499P-ET6)');
  t.equal(parseEntryLink({ idENT: 'SjA=', idRessource: 'javascript:alert(1)' }), null, 'not an ARK');
  t.equal(parseEntryLink({ idENT: Buffer.from('a b').toString('base64'), idRessource: 'ark:/19496/x' }), null, 'not a project code');
});

t.test('return paths: broker-relative only', async (t) => {
  t.equal(safeReturnPath('/idp/profile/SAML2/Redirect/SSO?resume=abc'), '/idp/profile/SAML2/Redirect/SSO?resume=abc');
  for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'evil', '/\tx', '', undefined]) {
    t.equal(safeReturnPath(bad), null, String(bad));
  }
});
