// Writes one CSS file from an entry that @imports others (one level, in
// order): the stylesheet a package ships as a single file, from the parts
// its source keeps apart. usage: node bundle-css.mjs ENTRY OUT
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [entry, out] = process.argv.slice(2);
if (!entry || !out) throw new Error('usage: node bundle-css.mjs ENTRY OUT');
const IMPORT = /^@import\s+['"](.+)['"];\s*$/;
const parts = readFileSync(entry, 'utf8')
  .split('\n')
  .map((line) => {
    const m = IMPORT.exec(line.trim());
    return m ? `/* ${m[1]} */\n${readFileSync(join(dirname(entry), m[1]), 'utf8').trim()}\n` : line;
  });
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, parts.join('\n'));
