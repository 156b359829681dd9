import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import yazl from 'yazl';
import { UAI_A, UAI_B, UAI_OTHER, fixture } from './directory-fixtures.js';

/** Archives of GAR-ENT files as ENTs send them, built in memory for the tests. */
export async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) pack.entry({ name: `export/${name}` }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

export async function zip(files: Record<string, string>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, text] of Object.entries(files)) z.addBuffer(Buffer.from(text), name);
  z.end();
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const name = (type: string, n: number) => `Z0_GAR-ENT_Complet_20261125_${type}_${String(n).padStart(4, '0')}.xml`;

/** A pupil of school B, in a file of its own (its records may be broken on purpose). */
export function pupilOfB(birthDate = '2013-01-02', id = 'E2-000001'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<GAR-ENT-Eleve xmlns="http://data.education.fr/ns/gar" Version="1.0">
  <GAREleve>
    <GARPersonIdentifiant>${id}</GARPersonIdentifiant>
    <GARPersonProfils><GARStructureUAI>${UAI_B}</GARStructureUAI><GARPersonProfil>National_elv</GARPersonProfil></GARPersonProfils>
    <GARPersonNom>Roux</GARPersonNom>
    <GARPersonPrenom>Zoé</GARPersonPrenom>
    <GARPersonAutresPrenoms>Zoé</GARPersonAutresPrenoms>
    <GARPersonEtab>${UAI_B}</GARPersonEtab>
    <GARPersonDateNaissance>${birthDate}</GARPersonDateNaissance>
  </GAREleve>
</GAR-ENT-Eleve>`;
}

/**
 * The fixtures' export of project Z0: school A (4 people, groups, teachings), school B (the teacher
 * of both and one pupil), as exporters write them (Version="1.0", a file mixing both schools).
 */
export function z0Export(o: { brokenB?: boolean; withOther?: boolean; dropPupil?: string } = {}): Record<string, string> {
  const v10 = (text: string) => text.replace('Version="1.7"', 'Version="1.0"');
  const eleve = v10(fixture('eleve.xml'));
  const files: Record<string, string> = {
    [name('Etab', 0)]: v10(fixture('etab.xml')),
    [name('Etab', 1)]: v10(fixture('etab.xml')).replaceAll('0650001Y', UAI_B).replace('Collège Jean Moulin', 'École du Bourg'),
    [name('Eleve', 0)]: eleve,
    [name('Eleve', 1)]: pupilOfB(o.brokenB ? '2011-19-37' : '2013-01-02'),
    [name('Enseignant', 0)]: v10(fixture('enseignant.xml')),
    [name('Groupe', 0)]: v10(fixture('groupe.xml')),
    [name('RespAff', 0)]: v10(fixture('respaff.xml')),
  };
  if (o.dropPupil) {
    // The pupil and their memberships and codes: a real export no longer has any of them.
    const records = /<(GAREleve|GARPersonMEF|GARPersonGroupe|GAREleveEnseignement)>[\s\S]*?<\/\1>/g;
    for (const k of Object.keys(files)) files[k] = files[k]!.replace(records, (rec) => (rec.includes(`>${o.dropPupil}<`) ? '' : rec));
  }
  if (o.withOther) files[name('Etab', 2)] = v10(fixture('etab.xml')).replaceAll('0650001Y', UAI_OTHER);
  return files;
}
